"""Top-k lists: batch top-k with already-seen items masked, and how good such lists are at k over held-out
items (recall, NDCG, MAP, coverage; personalisation). Offline figures only: Prometheus metrics live in
`animerec.common.metrics`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

ScoreFn = Callable[[np.ndarray], np.ndarray]  # user positions -> [len, n_items] scores


def topk(score: ScoreFn, users: np.ndarray, k: int, mask: sp.csr_matrix | None = None,
         batch: int = 1024) -> np.ndarray:
    """[len(users), k] item positions, best first; masked items never appear (-1 pads short rows)."""
    out = np.full((len(users), k), -1, dtype="int64")
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        scores = np.array(score(chunk), dtype="float32")  # a writable copy
        if mask is not None:
            sub = mask[chunk]
            rows = np.repeat(np.arange(len(chunk)), np.diff(sub.indptr))
            scores[rows, sub.indices] = -np.inf
        out[start:start + len(chunk)] = topk_rows(scores, k)
    return out


def topk_rows(scores: np.ndarray, k: int) -> np.ndarray:
    n = scores.shape[1]
    kk = min(k, n)
    part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk] if kk < n else np.tile(np.arange(n), (len(scores), 1))
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1)
    best = np.where(np.isneginf(np.take_along_axis(scores, best, axis=1)), -1, best)
    if kk < k:
        best = np.pad(best, ((0, 0), (0, k - kk)), constant_values=-1)
    return best


def ranking_metrics(recs: np.ndarray, relevant: sp.csr_matrix, k: int, n_catalogue: int) -> dict[str, float]:
    """recall@k, ndcg@k, map@k (binary relevance, averaged over rows with a relevant item) and
    catalogue coverage (distinct recommended items / catalogue size)."""
    recs = recs[:, :k]
    n_rel = np.diff(relevant.indptr)
    evaluated = n_rel > 0
    if not evaluated.any():
        raise ValueError("no user has a held-out relevant item: nothing to evaluate")
    hits = _hits(recs, relevant)
    ranks = np.arange(1, k + 1)
    discounts = 1.0 / np.log2(ranks + 1)
    dcg = (hits * discounts).sum(1)
    ideal = np.cumsum(discounts)[np.minimum(n_rel, k) - 1] if k else 0
    n_hits = hits.sum(1)
    precision_at = np.cumsum(hits, axis=1) / ranks
    ap = (precision_at * hits).sum(1) / np.maximum(np.minimum(n_rel, k), 1)
    recommended = np.unique(recs[evaluated][recs[evaluated] >= 0])
    e = evaluated
    return {
        f"recall@{k}": float((n_hits[e] / n_rel[e]).mean()),
        f"ndcg@{k}": float((dcg[e] / ideal[e]).mean()),
        f"map@{k}": float(ap[e].mean()),
        f"coverage@{k}": float(len(recommended) / max(n_catalogue, 1)),
        "users": int(e.sum()),
    }


def _hits(recs: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """[rows, k] 0/1: is recs[r, j] a relevant item of row r."""
    n_items = relevant.shape[1]
    rows = np.repeat(np.arange(relevant.shape[0]), np.diff(relevant.indptr)).astype("int64")
    rel_keys = rows * n_items + relevant.indices
    rec_keys = np.arange(len(recs))[:, None].astype("int64") * n_items + recs
    return (np.isin(rec_keys, rel_keys) & (recs >= 0)).astype("float64")


def personalisation_metrics(recs: np.ndarray, k: int, interactions: np.ndarray,
                            min_interactions: int = 10) -> dict[str, float]:
    """How personal a batch of top-k lists is (one row per user; -1 pads):

    - distinct_share@k: distinct anime in all the top-k lists, as a share of the anime with at
      least `min_interactions` interactions (`interactions`: per-item counts in the training data);
    - top1_share: share of users whose #1 is the most common #1;
    - popularity_pct@k: mean popularity percentile (0: least, 100: most interacted-with among the
      items with any interaction) of the recommended items.
    """
    recs = recs[:, :k]
    shown = recs[recs >= 0]
    counts = np.asarray(interactions, dtype="float64")
    eligible = int((counts >= min_interactions).sum())
    firsts = recs[:, 0][recs[:, 0] >= 0]
    top1 = float(np.bincount(firsts).max() / len(recs)) if len(firsts) else 0.0
    active = np.flatnonzero(counts > 0)
    pct = np.zeros(len(counts), "float64")
    if len(active) > 1:
        # Average ranks for ties, scaled to 0..100.
        values = counts[active]
        ordered = np.sort(values)
        ranks = (np.searchsorted(ordered, values, "left") + np.searchsorted(ordered, values, "right") - 1) / 2
        pct[active] = 100.0 * ranks / (len(active) - 1)
    return {
        f"distinct_share@{k}": float(len(np.unique(shown)) / eligible) if eligible else 0.0,
        "top1_share": top1,
        f"popularity_pct@{k}": float(pct[shown].mean()) if len(shown) else 0.0,
    }
