"""Multi-source candidates for the user-anime ranker, and the features of each (user, candidate).

Sources (each a score over the whole catalogue for a batch of users, given their history):
EASE, item-kNN, RP3beta (the tuned baselines), the two-tower retrieval model, franchise
(anime of the same franchise as something in the history) and popularity. A user's candidates are
the union of every source's top `depth`, ordered by each item's best rank in any source and cut at
`size`.

Features are built so that a ranker trained on one history (train minus val, labels val) transfers
to a bigger one (train, labels test): per source the z-score of its score within the user's own
candidate list and the log of its rank (not raw scores, whose scale grows with the history), plus
content affinities (genre, studio, synopsis embedding, franchise) and item priors (popularity
percentile, MAL score, year).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# users, history -> [len(users), n_items] scores (higher is better)
Source = Callable[[np.ndarray, sp.csr_matrix], np.ndarray]

FEATURE_GROUPS = ("sources", "content", "priors", "text")


@dataclass
class ItemSide:
    """What the features need to know about every item (catalogue order)."""

    genres: sp.csr_matrix        # items x genres, 0/1
    studios: sp.csr_matrix       # items x studios, 0/1
    franchise: sp.csr_matrix     # items x items, 1 where two anime share a franchise (no diagonal)
    mal_score: np.ndarray        # [items] (mean filled), scaled to about 0..1
    log_members: np.ndarray      # [items]
    year: np.ndarray             # [items] (median filled)
    text: np.ndarray | None      # [items, d] L2-normalised synopsis embeddings (zero rows: none)


@dataclass
class Lists:
    users: np.ndarray      # [U] user positions
    items: np.ndarray      # [U, L] item positions, -1 pads
    features: np.ndarray   # [U, L, F] float32
    names: list[str]       # F feature names


def _l2(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(n, 1e-12)


def _l2_sparse(m: sp.csr_matrix) -> sp.csr_matrix:
    m = sp.csr_matrix(m, dtype="float32")
    norms = np.sqrt(np.asarray(m.multiply(m).sum(1)).ravel())
    return sp.csr_matrix(sp.diags(1 / np.maximum(norms, 1e-12)) @ m)


def _rank_rows(scores: np.ndarray) -> np.ndarray:
    """0-based rank of every entry within its row (0 = best)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :].repeat(len(scores), 0), 1)
    return ranks


def union_candidates(ranks: dict[str, np.ndarray], depths: dict[str, int], allowed: np.ndarray,
                     size: int) -> np.ndarray:
    """[B, size] item positions: every source's top depth, ordered by best rank in any source
    (ties: the first source's rank), -1 pads where fewer are allowed."""
    best = np.full(allowed.shape, np.iinfo(np.int64).max // 4, "int64")
    for name, depth in depths.items():
        r = ranks[name]
        best = np.where(r < depth, np.minimum(best, r), best)
    first = ranks[next(iter(depths))]
    key = best * allowed.shape[1] + first
    key = np.where(allowed & (best < np.iinfo(np.int64).max // 4), key, np.iinfo(np.int64).max)
    n = min(size, allowed.shape[1])
    part = np.argpartition(key, n - 1, axis=1)[:, :n]
    order = np.argsort(np.take_along_axis(key, part, 1), axis=1, kind="stable")
    items = np.take_along_axis(part, order, 1)
    items = np.where(np.take_along_axis(key, items, 1) == np.iinfo(np.int64).max, -1, items)
    if n < size:
        items = np.pad(items, ((0, 0), (0, size - n)), constant_values=-1)
    return items


def build_lists(users: np.ndarray, history: sp.csr_matrix, exclude: sp.csr_matrix, sources: dict[str, Source],
                depths: dict[str, int], size: int, side: ItemSide, popularity: np.ndarray,
                universe: np.ndarray | None = None, groups: Sequence[str] = FEATURE_GROUPS,
                batch: int = 256) -> Lists:
    """Candidates and their features for `users`, scored from `history` (positives), never an item
    of `exclude` (everything already in the list), only items of `universe` (default: those with a
    positive in `popularity`, the positives per item of the data the sources were fitted on)."""
    history = sp.csr_matrix(history, dtype="float32")
    history.data[:] = 1.0
    popularity = np.asarray(popularity)
    if universe is None:
        universe = np.flatnonzero(popularity > 0)
    ctx = _Shared(history=history, exclude=sp.csr_matrix(exclude)[:, universe].tocsr(), universe=universe,
                  sources=sources, depths=depths, size=size, side=side, groups=tuple(groups),
                  pop_pct=_percentiles(popularity, universe),
                  genre_l2=_l2_sparse(side.genres), studio_l2=_l2_sparse(side.studios))
    items_out = np.full((len(users), size), -1, "int64")
    feats_out: np.ndarray | None = None
    names: list[str] = []
    for start in range(0, len(users), batch):
        u = users[start:start + batch]
        items, block, names = _batch(ctx, u)
        items_out[start:start + len(u)] = items
        if feats_out is None:
            feats_out = np.zeros((len(users), size, block.shape[-1]), "float32")
        feats_out[start:start + len(u)] = block
    if feats_out is None:
        feats_out = np.zeros((0, size, 0), "float32")
    return Lists(users=users, items=items_out, features=feats_out, names=names)


def _percentiles(popularity: np.ndarray, universe: np.ndarray) -> np.ndarray:
    out = np.zeros(len(popularity), "float32")
    order = np.argsort(np.argsort(popularity[universe], kind="stable"), kind="stable")
    out[universe] = order / max(len(universe) - 1, 1)
    return out


@dataclass
class _Shared:
    history: sp.csr_matrix
    exclude: sp.csr_matrix
    universe: np.ndarray
    sources: dict[str, Source]
    depths: dict[str, int]
    size: int
    side: ItemSide
    groups: tuple[str, ...]
    pop_pct: np.ndarray
    genre_l2: sp.csr_matrix
    studio_l2: sp.csr_matrix


YEAR_SCALE = np.float32(10.0)
MEAN_YEAR = 2005.0


def _batch(c: _Shared, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    h = c.history[u]
    ex = c.exclude[u]
    side = c.side
    allowed = np.ones((len(u), len(c.universe)), bool)
    allowed[np.repeat(np.arange(len(u)), np.diff(ex.indptr)), ex.indices] = False
    scores, ranks = {}, {}
    for name, source in c.sources.items():
        s = np.array(np.asarray(source(u, c.history))[:, c.universe], dtype="float32")
        s[~allowed] = -np.inf
        scores[name] = s
        ranks[name] = _rank_rows(s)
    local = union_candidates(ranks, c.depths, allowed, c.size)
    valid = local >= 0
    items = np.where(valid, c.universe[np.maximum(local, 0)], -1)
    safe, lsafe = np.maximum(items, 0), np.maximum(local, 0)
    cols: list[np.ndarray] = []
    names: list[str] = []

    def add(name: str, value: np.ndarray) -> None:
        cols.append(np.where(valid, value, 0).astype("float32"))
        names.append(name)

    if "sources" in c.groups:
        for name in c.sources:
            s = np.take_along_axis(scores[name], lsafe, 1)
            s = np.where(valid & np.isfinite(s), s, np.nan)
            mean = np.nanmean(s, 1, keepdims=True)
            std = np.nanstd(s, 1, keepdims=True)
            z = (s - mean) / np.where(std > 1e-9, std, 1.0)
            add(f"{name}_z", np.nan_to_num(z, nan=-3.0))
            add(f"{name}_logrank", np.log1p(np.take_along_axis(ranks[name], lsafe, 1)))
    def per_item(user_side: np.ndarray, item_side: sp.csr_matrix | np.ndarray) -> np.ndarray:
        """user_side [B, T] . item_side[candidate] [T] for every candidate, without building
        [B, L, T] (T: genres, studios, embedding dimensions)."""
        sub = item_side[c.universe]
        full = np.asarray((sub @ user_side.T).T if sp.issparse(sub) else user_side @ sub.T, "float32")
        return np.take_along_axis(full, lsafe, 1)

    if "content" in c.groups:
        n_hist = np.asarray(h.sum(1)).ravel().astype("float32")
        add("genre_affinity", per_item(_l2(np.asarray((h @ side.genres).todense(), "float32")), c.genre_l2))
        studio_counts = np.asarray((h @ side.studios).todense(), "float32")
        add("studio_affinity", per_item(_l2(studio_counts), c.studio_l2))
        # the share of the history made by the candidate's studio(s)
        add("studio_share", per_item(studio_counts / np.maximum(n_hist, 1)[:, None], side.studios))
        franchise = (h @ side.franchise[:, c.universe]).toarray()
        add("franchise_seen", np.log1p(np.take_along_axis(franchise, lsafe, 1)))
        user_year = np.where(n_hist > 0, (h @ side.year) / np.maximum(n_hist, 1), MEAN_YEAR)
        add("year_gap", np.abs(side.year[safe] - user_year[:, None]) / YEAR_SCALE)
        add("log_history", np.broadcast_to(np.log1p(n_hist)[:, None], safe.shape))
    if "priors" in c.groups:
        add("popularity_pct", c.pop_pct[safe])
        add("mal_score", side.mal_score[safe])
        add("log_members", side.log_members[safe])
        add("year", (side.year[safe] - MEAN_YEAR) / YEAR_SCALE)
    if "text" in c.groups and side.text is not None:
        add("synopsis_cosine", per_item(_l2(np.asarray(h @ side.text, "float32")), side.text))
    return items, np.stack(cols, -1), names


def labels_of(lists: Lists, relevant: sp.csr_matrix) -> np.ndarray:
    """[U, L] 1.0 where the candidate is a relevant item of its user."""
    rel = sp.csr_matrix(relevant)[lists.users]
    n = rel.shape[1]
    rows = np.repeat(np.arange(rel.shape[0]), np.diff(rel.indptr)).astype("int64")
    keys = rows * n + rel.indices
    cand = np.arange(len(lists.users))[:, None].astype("int64") * n + lists.items
    return (np.isin(cand, keys) & (lists.items >= 0)).astype("float32")


def recall_at(lists: Lists, relevant: sp.csr_matrix, n: int | None = None) -> float:
    """Share of each user's relevant items among their first n candidates, averaged over users."""
    labels = labels_of(lists, relevant)[:, :n]
    total = np.diff(sp.csr_matrix(relevant)[lists.users].indptr)
    ok = total > 0
    return float((labels.sum(1)[ok] / total[ok]).mean()) if ok.any() else float("nan")
