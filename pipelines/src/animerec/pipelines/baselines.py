"""The baselines every model is compared with, trained on the same split: popularity, item-item
co-occurrence (cosine) and ALS (`implicit`). Each is a score function over user positions."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

# implicit warns (and slows down) when OpenBLAS runs its own threads inside ALS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


class Popularity:
    name = "popularity"

    def __init__(self, positives: sp.csr_matrix):
        self.counts = np.asarray(positives.sum(0)).ravel().astype("float32")

    def score(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts)))


class ItemItem:
    """Cosine similarity of item co-occurrence columns, each item keeping its top neighbours."""

    name = "item_item"

    def __init__(self, positives: sp.csr_matrix, neighbours: int):
        x = positives.astype("float32")
        x.data[:] = 1.0
        self.x = x.tocsr()
        co = (x.T @ x).tocsr()
        norms = np.sqrt(co.diagonal()).astype("float32")
        norms[norms == 0] = 1.0
        co = sp.diags(1 / norms) @ co @ sp.diags(1 / norms)
        co.setdiag(0)
        co.eliminate_zeros()
        self.sim = keep_top_per_row(co.tocsr(), neighbours)

    def score(self, users: np.ndarray) -> np.ndarray:
        return (self.x[users] @ self.sim).toarray()

    def similar(self, items: np.ndarray) -> np.ndarray:
        return self.sim[items].toarray()


def keep_top_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    m = m.tocsr()
    m.sort_indices()
    rows, cols, vals = [], [], []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        top = lo + np.argpartition(-m.data[lo:hi], k - 1)[:k] if hi - lo > k else np.arange(lo, hi)
        rows.append(np.full(len(top), r))
        cols.append(m.indices[top])
        vals.append(m.data[top])
    if not rows:
        return m
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape)


class ALS:
    name = "als"

    def __init__(self, positives: sp.csr_matrix, factors: int, iterations: int, regularization: float,
                 seed: int, threads: int = 0, alpha: float = 20.0):
        from implicit.cpu.als import AlternatingLeastSquares

        self.model = AlternatingLeastSquares(factors=factors, iterations=iterations, regularization=regularization,
                                             alpha=alpha, random_state=seed, num_threads=threads,
                                             calculate_training_loss=False)
        self.model.fit(positives.astype("float32").tocsr(), show_progress=False)

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.model.user_factors[users] @ self.model.item_factors.T
