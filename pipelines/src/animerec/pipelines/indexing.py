"""Contiguous indices for users and anime, and the sparse matrices the models share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class Index:
    user_ids: np.ndarray   # position -> user id
    anime_ids: np.ndarray  # position -> anime id (the whole catalogue)

    @classmethod
    def build(cls, anime: pd.DataFrame, *frames: pd.DataFrame) -> Index:
        users = np.unique(np.concatenate([f["user_id"].to_numpy("int64") for f in frames] or [np.empty(0, "int64")]))
        return cls(user_ids=users, anime_ids=np.sort(anime["anime_id"].to_numpy("int64")))

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.anime_ids)

    def users(self, ids) -> np.ndarray:
        return _lookup(self.user_ids, ids)

    def items(self, ids) -> np.ndarray:
        return _lookup(self.anime_ids, ids)

    def matrix(self, frame: pd.DataFrame, values: np.ndarray | None = None) -> sp.csr_matrix:
        """users x items CSR with ones (or `values`) where `frame` has a row."""
        rows, cols = self.users(frame["user_id"]), self.items(frame["anime_id"])
        keep = (rows >= 0) & (cols >= 0)
        data = np.ones(keep.sum(), "float32") if values is None else np.asarray(values, "float32")[keep]
        m = sp.csr_matrix((data, (rows[keep], cols[keep])), shape=(self.n_users, self.n_items), dtype="float32")
        m.sum_duplicates()
        return m


def _lookup(sorted_ids: np.ndarray, ids) -> np.ndarray:
    """Positions of `ids` in `sorted_ids`; -1 where absent."""
    ids = np.asarray(ids, dtype="int64")
    if len(sorted_ids) == 0:
        return np.full(ids.shape, -1, dtype="int64")
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.clip(pos, 0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def padded_histories(matrix: sp.csr_matrix, length: int, pad: int, seed: int) -> np.ndarray:
    """Each row's column indices in a [rows, length] int32 array, padded with `pad`; rows longer than
    `length` keep a seeded random sample."""
    rng = np.random.default_rng(seed)
    out = np.full((matrix.shape[0], length), pad, dtype="int32")
    indptr, indices = matrix.indptr, matrix.indices
    counts = np.diff(indptr)
    short = counts <= length
    # Vectorised fill for the rows that fit, a loop only over the long ones.
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    offsets = np.arange(len(indices)) - np.repeat(indptr[:-1], counts)
    fits = short[rows]
    out[rows[fits], offsets[fits]] = indices[fits]
    for r in np.flatnonzero(~short):
        out[r] = rng.choice(indices[indptr[r]:indptr[r + 1]], size=length, replace=False)
    return out
