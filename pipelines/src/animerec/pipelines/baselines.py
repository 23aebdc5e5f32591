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
    """Shrunk cosine similarity of item co-occurrence columns, co(i, j) / (sqrt(n_i n_j) + shrinkage),
    each item keeping its top neighbours. Without shrinkage two anime seen once, together, are
    "identical" and sparse data drowns in such pairs."""

    name = "item_item"

    def __init__(self, positives: sp.csr_matrix, neighbours: int, shrinkage: float = 100.0):
        x = positives.astype("float32")
        x.data[:] = 1.0
        self.x = x.tocsr()
        co = (x.T @ x).tocoo()
        norms = np.sqrt(np.asarray(x.sum(0)).ravel()).astype("float32")
        values = co.data / (norms[co.row] * norms[co.col] + shrinkage)
        sim = sp.csr_matrix((values, (co.row, co.col)), shape=co.shape)
        sim.setdiag(0)
        sim.eliminate_zeros()
        self.sim = keep_top_per_row(sim, neighbours)

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
        from threadpoolctl import threadpool_limits

        # implicit parallelises itself; a BLAS thread pool inside it only oversubscribes the cores.
        with threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(factors=factors, iterations=iterations,
                                                 regularization=regularization, alpha=alpha, random_state=seed,
                                                 num_threads=threads, calculate_training_loss=False)
            self.model.fit(positives.astype("float32").tocsr(), show_progress=False)

    def score(self, users: np.ndarray) -> np.ndarray:
        return self.model.user_factors[users] @ self.model.item_factors.T
