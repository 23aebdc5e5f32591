"""Fold-in: a personal list for a user outside the published batch, from their known list and the item-item
weights published with the version (x·B: each anime on the list lends its neighbours its own weight)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

# How much an entry of each status says about taste; a score (1-10) replaces the default where given.
STATUS_WEIGHT = {"completed": 1.0, "watching": 0.8, "on_hold": 0.4, "plan_to_watch": 0.2, "dropped": -0.5}
LIKE_WEIGHT = 1.5  # a verified like on our page says more than an old list entry


def seed_weights(entries: Iterable[Sequence[Any]], liked: Iterable[int] = ()) -> dict[int, float]:
    """anime_id -> weight of the user's list entries ([anime_id, status, score|None, ...]) and likes.

    Scored entries weigh (score - 5.5) / 4.5, so a 10 pulls neighbours in and a 1 pushes them away; unscored
    ones weigh by status. Likes add on top of whatever the list says."""
    weights: dict[int, float] = {}
    status_weight = STATUS_WEIGHT.get
    for entry in entries:
        score = entry[2] if len(entry) > 2 else None
        # type(...) is int: bools are not scores
        weight = (score - 5.5) / 4.5 if type(score) is int and 1 <= score <= 10 else status_weight(entry[1], 0.0)
        if weight:
            weights[int(entry[0])] = weight
    for anime_id in liked:
        weights[int(anime_id)] = max(weights.get(int(anime_id), 0.0), 0.0) + LIKE_WEIGHT
    return weights


class NeighbourIndex:
    """All item-item weights of one version in three flat arrays (CSR): a fold-in gathers its seeds' rows with
    a few vectorised operations instead of touching 1,000 small lists."""

    def __init__(self, rows: Mapping[int, tuple[Sequence[int], Sequence[float]]]) -> None:
        self.row = {int(a): i for i, a in enumerate(rows)}
        lens = np.fromiter((len(r[0]) for r in rows.values()), dtype=np.int64, count=len(rows))
        self.indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=self.indptr[1:])
        self.ids = np.fromiter((x for r in rows.values() for x in r[0]), dtype=np.int64, count=int(self.indptr[-1]))
        self.weights = np.fromiter((x for r in rows.values() for x in r[1]), dtype=np.float64,
                                   count=int(self.indptr[-1]))

    def __len__(self) -> int:
        return len(self.row)

    def __contains__(self, anime_id: object) -> bool:
        return anime_id in self.row

    def score(self, weights: Mapping[int, float], exclude: set[int], n: int) -> list[tuple[int, float, int]]:
        """The best `n` anime not in `exclude`: (anime_id, score, the seed that pulled it in most), best first.
        Anime whose summed score is not positive are left out."""
        seeds = [s for s in weights if s in self.row]
        if not seeds or n <= 0:
            return []
        rows = np.fromiter((self.row[s] for s in seeds), dtype=np.int64, count=len(seeds))
        starts, lens = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        total = int(lens.sum())
        if not total:
            return []
        # positions of every seed's neighbours in the flat arrays
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
        pos = offsets + np.arange(total)
        ids = self.ids[pos]
        seed_w = np.fromiter((weights[s] for s in seeds), dtype=np.float64, count=len(seeds))
        contrib = self.weights[pos] * np.repeat(seed_w, lens)
        if ids.min() < 0 or ids.max() > 10_000_000:  # MAL ids are small: a dense sum is fastest; else sort
            uniq, inverse = np.unique(ids, return_inverse=True)
            totals = np.bincount(inverse, weights=contrib, minlength=len(uniq))
        else:
            dense = np.bincount(ids, weights=contrib)
            uniq = np.flatnonzero(dense)
            totals = dense[uniq]
        if exclude:
            keep = ~np.isin(uniq, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
            uniq, totals = uniq[keep], totals[keep]
        positive = np.flatnonzero(totals > 1e-9)  # above float noise: cancelled-out pulls are not picks
        if not len(positive):
            return []
        if len(positive) > n:  # partial selection first: sorting every candidate costs ten times more
            positive = positive[np.argpartition(-totals[positive], n - 1)[:n]]
        top = positive[np.lexsort((uniq[positive], -totals[positive]))]
        top_ids = uniq[top]
        # the reason: for each picked anime, the seed with the largest contribution (the first seed wins ties)
        seed_of = np.repeat(np.asarray(seeds, dtype=np.int64), lens)
        mask = np.isin(ids, top_ids)
        cand, cand_contrib, cand_seed = ids[mask], contrib[mask], seed_of[mask]
        order = np.lexsort((np.arange(len(cand)), -cand_contrib, cand))
        first = order[np.r_[0, np.flatnonzero(np.diff(cand[order])) + 1]]
        reason = dict(zip(cand[first].tolist(), cand_seed[first].tolist(), strict=True))
        return [(a, t, reason[a]) for a, t in zip(top_ids.tolist(), totals[top].tolist(), strict=True)]


def score(weights: Mapping[int, float], neighbours: Mapping[int, tuple[Sequence[int], Sequence[float]]],
          exclude: set[int], n: int) -> list[tuple[int, float, int]]:
    """`NeighbourIndex.score` over a plain mapping (anime_id -> (ids, weights))."""
    return NeighbourIndex({a: neighbours[a] for a in weights if a in neighbours}).score(weights, exclude, n)
