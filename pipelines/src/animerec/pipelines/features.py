"""Dense features of anime and of (user, anime) / (anime, anime) pairs, computed with numpy so the
rankers and the pipelines' non-TF steps share them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def genre_matrix(anime: pd.DataFrame, anime_ids: np.ndarray) -> tuple[sp.csr_matrix, list[str]]:
    """items x genres 0/1 matrix in `anime_ids` order, and the genre names."""
    frame = anime.set_index("anime_id").reindex(anime_ids)
    names = sorted({g for gs in frame["genres"].dropna() for g in gs})
    col = {g: i for i, g in enumerate(names)}
    rows, cols = [], []
    for r, gs in enumerate(frame["genres"]):
        if isinstance(gs, (list, tuple, np.ndarray)):
            for g in gs:
                rows.append(r)
                cols.append(col[g])
    m = sp.csr_matrix((np.ones(len(rows), "float32"), (rows, cols)), shape=(len(anime_ids), len(names)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m, names


def l2_rows(m):
    if sp.issparse(m):
        norms = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
        norms[norms == 0] = 1
        return sp.diags(1 / norms) @ m
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1
    return m / norms


def item_features(anime: pd.DataFrame, anime_ids: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Per item: genres (0/1), type (one-hot), MAL score, members and training popularity (scaled)."""
    frame = anime.set_index("anime_id").reindex(anime_ids)
    genres, _ = genre_matrix(anime, anime_ids)
    types = sorted({t for t in frame["type"].dropna()})
    type_1h = np.zeros((len(anime_ids), len(types)), "float32")
    for i, t in enumerate(frame["type"]):
        if t in types:
            type_1h[i, types.index(t)] = 1
    score = frame["score"].fillna(frame["score"].mean() if frame["score"].notna().any() else 0).to_numpy()
    score = ((score - 5.0) / 5.0).astype("float32")[:, None]
    members = np.log1p(frame["members"].fillna(0).to_numpy()).astype("float32")[:, None] / 15.0
    pop = np.log1p(np.asarray(popularity, "float32"))[:, None] / 10.0
    return np.hstack([genres.toarray(), type_1h, score, members, pop]).astype("float32")


def user_genre_profiles(history: sp.csr_matrix, genres: sp.csr_matrix) -> np.ndarray:
    """L2-normalised genre counts of each user's history (users x genres)."""
    return np.asarray(l2_rows(sp.csr_matrix(history @ genres)).toarray(), "float32")


def pair_cosine(a: np.ndarray, b: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """cosine(a[left[i]], b[right[i]]) for L2-normalised dense rows."""
    return np.einsum("ij,ij->i", a[left], b[right]).astype("float32")


def tag_matrix(values, anime_ids_count: int) -> sp.csr_matrix:
    """items x tags 0/1 from one list of tags per item (e.g. studios)."""
    names = sorted({t for ts in values if isinstance(ts, (list, tuple, np.ndarray)) for t in ts})
    col = {t: i for i, t in enumerate(names)}
    rows, cols = [], []
    for r, ts in enumerate(values):
        if isinstance(ts, (list, tuple, np.ndarray)):
            for t in ts:
                rows.append(r)
                cols.append(col[t])
    m = sp.csr_matrix((np.ones(len(rows), "float32"), (rows, cols)), shape=(anime_ids_count, max(len(names), 1)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m
