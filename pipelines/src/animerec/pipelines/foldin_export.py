"""Item-item neighbour weights published with each version, so the API can fold in users outside the batch
(x·B over the user's list). Item-kNN on the same interactions the published models trained on: cosine between
anime over users, shrunk for rarely co-watched pairs, the best `k` per anime."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

STATUS_WEIGHT = {"completed": 1.0, "watching": 0.8, "on_hold": 0.4, "dropped": 0.0, "plan_to_watch": 0.0}


def item_knn(users: np.ndarray, items: np.ndarray, values: np.ndarray, k: int = 50, shrink: float = 10.0,
             block: int = 1024) -> dict[int, list[tuple[int, float]]]:
    """anime_id -> [(anime_id, weight), ...] best first, from (user index, anime id, value) interactions."""
    keep = values > 0
    users, items, values = users[keep], items[keep], values[keep].astype(np.float32)
    if not len(items):
        return {}
    ids, cols = np.unique(items, return_inverse=True)
    _, rows = np.unique(users, return_inverse=True)
    x = sp.csr_matrix((values, (rows, cols)), shape=(rows.max() + 1, len(ids))).tocsc()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    xt = x.T.tocsr()
    out: dict[int, list[tuple[int, float]]] = {}
    for start in range(0, len(ids), block):
        stop = min(start + block, len(ids))
        co = (xt[start:stop] @ x).toarray()                      # block of anime x all anime
        both = (xt[start:stop] > 0).astype(np.float32) @ (x > 0).astype(np.float32)
        both = both.toarray()
        sims = co / (np.outer(norms[start:stop], norms) + 1e-9) * (both / (both + shrink))
        for r in range(stop - start):
            sims[r, start + r] = 0.0                              # an anime is not its own neighbour
        top = np.argpartition(-sims, min(k, sims.shape[1] - 1), axis=1)[:, :k]
        for r in range(stop - start):
            cand = top[r][sims[r, top[r]] > 0]
            cand = cand[np.argsort(-sims[r, cand], kind="stable")]
            if len(cand):
                out[int(ids[start + r])] = [(int(ids[c]), float(sims[r, c])) for c in cand]
    return out


def load(conn, k: int = 50) -> dict[int, list[tuple[int, float]]]:
    """Neighbours from processed.user_anime: a score (1-10) weighs score/10, otherwise the status weight."""
    rows = conn.execute("SELECT user_id, anime_id, status, score FROM processed.user_anime").fetchall()
    if not rows:
        return {}
    users = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    items = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter(((r[3] / 10 if r[3] else STATUS_WEIGHT.get(r[2] or "", 0.5)) for r in rows),
                         dtype=np.float32, count=len(rows))
    return item_knn(users, items, values, k=k)
