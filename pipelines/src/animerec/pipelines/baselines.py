"""The baselines every model is compared with: popularity, item-kNN, EASE, RP3beta and ALS.

One interface for all of them (see `Baseline`):

- ``fit(positives)`` on a CSR users x items matrix of positives (any values; nonzero = positive);
- ``score(users, history=None)`` -> dense float32 [len(users), n_items]; `history` scores the users'
  rows of another matrix (e.g. fit on train_r, score with train histories) instead of the fitted one;
- ``item_weights`` (item-item models): the learned item x item weights W, so that scores = X @ W,
  over the `active` items only (those with a positive); ``similar(items)`` gives rows of W over the
  whole catalogue.

Item-item models work on the active items only: the catalogue holds ~22k anime, the ratings touch
~7k, and EASE inverts a dense Gram matrix. Items without a positive score `UNSCORED` (below any
real score, but finite, so `metrics.topk` still fills lists with them rather than padding).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp

# implicit warns (and slows down) when OpenBLAS runs its own threads inside ALS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

UNSCORED = np.float32(-1e9)
Space = dict[str, list[Any]]


def binary(positives: sp.spmatrix) -> sp.csr_matrix:
    x = sp.csr_matrix(positives, dtype="float32", copy=True)
    x.eliminate_zeros()
    x.data[:] = 1.0
    x.sort_indices()
    return x


@dataclass
class Gram:
    """Co-occurrence of the active items, computed once per training matrix and shared by the
    item-item models (and every trial of a tuning search)."""

    x: sp.csr_matrix        # binary users x items
    active: np.ndarray      # item positions with at least one positive
    counts: np.ndarray      # positives per active item (float64)
    co: np.ndarray          # dense [active, active] float32 co-occurrence counts, diagonal = counts

    @classmethod
    def of(cls, positives: sp.spmatrix) -> Gram:
        x = binary(positives)
        counts_all = np.asarray(x.sum(0)).ravel()
        active = np.flatnonzero(counts_all > 0)
        xa = x[:, active]
        co = (xa.T @ xa).toarray().astype("float32")
        return cls(x=x, active=active, counts=counts_all[active].astype("float64"), co=co)

    @property
    def n_items(self) -> int:
        return self.x.shape[1]


@dataclass
class ItemWeights:
    active: np.ndarray                   # item positions W's rows and columns stand for
    matrix: np.ndarray | sp.csr_matrix   # [active, active]; scores = X[:, active] @ matrix


class Baseline(ABC):
    name: ClassVar[str]
    #: the tuning search space: parameter -> candidate values (tuning.py draws from it)
    space: ClassVar[Space] = {}

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.defaults())
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {', '.join(sorted(unknown))}")
        self.params: dict[str, Any] = {**self.defaults(), **params}
        self.x: sp.csr_matrix | None = None

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {}

    @abstractmethod
    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> Baseline: ...

    @abstractmethod
    def score(self, users: np.ndarray, history: sp.spmatrix | None = None) -> np.ndarray: ...

    @property
    def item_weights(self) -> ItemWeights | None:
        return None

    def similar(self, items: np.ndarray) -> np.ndarray:
        """Rows of the item-item weights over the whole catalogue: [len(items), n_items]."""
        w = self.item_weights
        if w is None or self.x is None:
            raise TypeError(f"{self.name} has no item-item weights")
        out = np.zeros((len(items), self.x.shape[1]), "float32")
        pos = np.full(self.x.shape[1], -1, "int64")
        pos[w.active] = np.arange(len(w.active))
        rows = pos[np.asarray(items, "int64")]
        ok = rows >= 0
        if ok.any():
            m = w.matrix[rows[ok]]
            out[np.ix_(np.flatnonzero(ok), w.active)] = m.toarray() if sp.issparse(m) else m
        return out

    def _rows(self, users: np.ndarray, history: sp.spmatrix | None) -> sp.csr_matrix:
        if history is not None:
            return binary(sp.csr_matrix(history)[np.asarray(users)])
        assert self.x is not None, "fit first"
        return self.x[np.asarray(users)]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


class _ItemItemModel(Baseline):
    """scores = X[:, active] @ W over the active items; the others score UNSCORED."""

    w: np.ndarray | sp.csr_matrix
    active: np.ndarray

    def score(self, users: np.ndarray, history: sp.spmatrix | None = None) -> np.ndarray:
        rows = self._rows(users, history)[:, self.active]
        s = rows @ self.w
        s = s.toarray() if sp.issparse(s) else np.asarray(s)
        out = np.full((rows.shape[0], self._n_items), UNSCORED, "float32")
        out[:, self.active] = s
        return out

    @property
    def item_weights(self) -> ItemWeights:
        return ItemWeights(self.active, self.w)

    def _setup(self, positives: sp.spmatrix, gram: Gram | None) -> Gram:
        g = gram if gram is not None else Gram.of(positives)
        self.x, self.active, self._n_items = g.x, g.active, g.n_items
        return g


def top_per_column(w: np.ndarray, k: int) -> sp.csr_matrix:
    """Keep each column's k largest entries (a target item's k nearest neighbours), as CSR."""
    n = w.shape[0]
    if k >= n:
        return sp.csr_matrix(w)
    wt = np.ascontiguousarray(w.T)                            # rows = targets: partition along memory
    keep = np.argpartition(-wt, k - 1, axis=1)[:, :k]         # [targets, k] source positions
    vals = np.take_along_axis(wt, keep, axis=1)
    targets = np.repeat(np.arange(wt.shape[0]), k)
    m = sp.csr_matrix((vals.ravel(), (keep.ravel(), targets)), shape=w.shape, dtype="float32")
    m.eliminate_zeros()
    return m


class Popularity(Baseline):
    name = "popularity"

    def __init__(self, positives: sp.spmatrix | None = None, **params: Any):
        super().__init__(**params)
        if positives is not None:
            self.fit(positives)

    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> Popularity:
        self.x = gram.x if gram is not None else binary(positives)
        self.counts = np.asarray(self.x.sum(0)).ravel().astype("float32")
        return self

    def score(self, users: np.ndarray, history: sp.spmatrix | None = None) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), len(self.counts)))


class ItemKNN(_ItemItemModel):
    """Shrunk cosine of co-occurrence columns, co(i, j) / (sqrt(n_i n_j) + shrinkage), each target
    item keeping its `neighbours` most similar. Without shrinkage two anime seen once, together,
    are "identical" and sparse data drowns in such pairs."""

    name = "item_knn"
    space: ClassVar[Space] = {
        "neighbours": [20, 50, 100, 200, 400, 800], "shrinkage": [0.0, 10.0, 50.0, 100.0, 200.0, 500.0]}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"neighbours": 200, "shrinkage": 100.0}

    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> ItemKNN:
        g = self._setup(positives, gram)
        norms = np.sqrt(g.counts).astype("float32")
        sim = g.co / (np.outer(norms, norms) + np.float32(self.params["shrinkage"]))
        np.fill_diagonal(sim, 0.0)
        self.w = top_per_column(sim, int(self.params["neighbours"]))
        return self


class EASE(_ItemItemModel):
    """Steck 2019: B = I - P diagMat(1 / diag(P)), P = (X'X + lambda I)^-1, zero diagonal."""

    name = "ease"
    space: ClassVar[Space] = {"l2": [50.0, 100.0, 200.0, 400.0, 800.0, 1500.0, 3000.0, 6000.0]}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"l2": 500.0}

    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> EASE:
        g = self._setup(positives, gram)
        p = spd_inverse(g.co, float(self.params["l2"]))
        b = p / -np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        self.w = b.astype("float32")
        return self


def spd_inverse(gram: np.ndarray, l2: float) -> np.ndarray:
    """(gram + l2 I)^-1 by Cholesky in float64 (float32 loses the small weights); symmetric."""
    a = gram.astype("float64")
    a[np.diag_indices_from(a)] += l2
    c, lower = scipy.linalg.cho_factor(a, lower=False, overwrite_a=True, check_finite=False)
    inv, info = scipy.linalg.lapack.dpotri(c, lower=lower, overwrite_c=True)
    if info:
        raise np.linalg.LinAlgError(f"dpotri failed ({info})")
    inv = np.triu(inv)
    inv += np.triu(inv, 1).T
    return inv


class RP3beta(_ItemItemModel):
    """Paudel et al. 2017: a 3-step random walk item -> user -> item with transition probabilities
    raised to alpha, divided by the target's popularity^beta; each target keeps its top-k."""

    name = "rp3beta"
    space: ClassVar[Space] = {
        "alpha": [0.4, 0.6, 0.8, 1.0, 1.2], "beta": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        "neighbours": [50, 100, 200, 400, 800]}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"alpha": 1.0, "beta": 0.3, "neighbours": 200}

    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> RP3beta:
        g = self._setup(positives, gram)
        alpha, beta = float(self.params["alpha"]), float(self.params["beta"])
        xa = g.x[:, g.active]
        user_deg = np.asarray(xa.sum(1)).ravel()
        p_ui = sp.diags(np.power(1.0 / np.maximum(user_deg, 1), alpha).astype("float32")) @ xa  # binary ** alpha = 1
        p_iu_scale = np.power(1.0 / g.counts, alpha).astype("float32")
        w = (xa.T @ p_ui).toarray().astype("float32")            # sum_u x_ui p_uj
        w *= p_iu_scale[:, None]
        w /= np.power(g.counts, beta).astype("float32")[None, :]
        np.fill_diagonal(w, 0.0)
        self.w = top_per_column(w, int(self.params["neighbours"]))
        return self


class ALS(Baseline):
    """Implicit-feedback matrix factorisation (Hu, Koren, Volinsky 2008) from `implicit`."""

    name = "als"
    space: ClassVar[Space] = {
        "factors": [32, 64, 128, 256], "regularization": [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 20.0],
        "alpha": [0.5, 1.0, 2.0, 5.0, 10.0, 20.0], "iterations": [15]}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {"factors": 64, "regularization": 0.05, "alpha": 20.0, "iterations": 15, "seed": 42, "threads": 0}

    def fit(self, positives: sp.spmatrix, gram: Gram | None = None) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        p = self.params
        self.x = gram.x if gram is not None else binary(positives)
        # implicit parallelises itself; a BLAS thread pool inside it only oversubscribes the cores.
        with threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(
                factors=int(p["factors"]), iterations=int(p["iterations"]),
                regularization=float(p["regularization"]), alpha=float(p["alpha"]),
                random_state=int(p["seed"]), num_threads=int(p["threads"]), calculate_training_loss=False)
            self.model.fit(self.x, show_progress=False)
        return self

    def score(self, users: np.ndarray, history: sp.spmatrix | None = None) -> np.ndarray:
        users = np.asarray(users)
        if history is None:
            factors = self.model.user_factors[users]
        else:
            from threadpoolctl import threadpool_limits
            with threadpool_limits(1, "blas"):
                factors = self.model.recalculate_user(np.arange(len(users)), binary(sp.csr_matrix(history)[users]))
        return np.asarray(factors @ self.model.item_factors.T, dtype="float32")


MODELS: dict[str, type[Baseline]] = {m.name: m for m in (Popularity, ItemKNN, EASE, RP3beta, ALS)}
NAMES = tuple(MODELS)


def make(name: str, **params: Any) -> Baseline:
    if name not in MODELS:
        raise ValueError(f"unknown baseline {name!r} (known: {', '.join(NAMES)})")
    return MODELS[name](**params)


def fit(name: str, positives: sp.spmatrix, gram: Gram | None = None, **params: Any) -> Baseline:
    return make(name, **params).fit(positives, gram)
