"""Fold-in: a personal list for a user outside the published batch, from their known list and the item-item
weights published with the version (x·B: each anime on the list lends its neighbours its own weight)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

# How much an entry of each status says about taste; a score (1-10) replaces the default where given.
STATUS_WEIGHT = {"completed": 1.0, "watching": 0.8, "on_hold": 0.4, "plan_to_watch": 0.2, "dropped": -0.5}
LIKE_WEIGHT = 1.5  # a verified like on our page says more than an old list entry


def seed_weights(entries: Iterable[Sequence], liked: Iterable[int] = ()) -> dict[int, float]:
    """anime_id -> weight of the user's list entries ([anime_id, status, score|None, ...]) and likes.

    Scored entries weigh (score - 5.5) / 4.5, so a 10 pulls neighbours in and a 1 pushes them away; unscored
    ones weigh by status. Likes add on top of whatever the list says."""
    weights: dict[int, float] = {}
    for entry in entries:
        anime_id, status = int(entry[0]), str(entry[1])
        score = entry[2] if len(entry) > 2 else None
        if isinstance(score, (int, float)) and not isinstance(score, bool) and 1 <= score <= 10:
            weight = (float(score) - 5.5) / 4.5
        else:
            weight = STATUS_WEIGHT.get(status, 0.0)
        if weight:
            weights[anime_id] = weight
    for anime_id in liked:
        weights[int(anime_id)] = max(weights.get(int(anime_id), 0.0), 0.0) + LIKE_WEIGHT
    return weights


def score(weights: Mapping[int, float], neighbours: Mapping[int, tuple[Sequence[int], Sequence[float]]],
          exclude: set[int], n: int) -> list[tuple[int, float, int]]:
    """The best `n` anime not in `exclude`: (anime_id, score, the positively weighted seed that pulled it in
    most), best first. Anime whose summed score is not positive are left out."""
    seeds = [s for s in weights if s in neighbours]
    if not seeds or n <= 0:
        return []
    ids = np.concatenate([np.asarray(neighbours[s][0], dtype=np.int64) for s in seeds])
    sims = np.concatenate([np.asarray(neighbours[s][1], dtype=np.float64) for s in seeds])
    lens = np.fromiter((len(neighbours[s][0]) for s in seeds), dtype=np.int64, count=len(seeds))
    seed_of = np.repeat(np.asarray(seeds, dtype=np.int64), lens)
    contrib = sims * np.repeat(np.fromiter((weights[s] for s in seeds), dtype=np.float64, count=len(seeds)), lens)
    if exclude:
        keep = ~np.isin(ids, np.fromiter(exclude, dtype=np.int64, count=len(exclude)))
        ids, contrib, seed_of = ids[keep], contrib[keep], seed_of[keep]
    if not len(ids):
        return []
    uniq, inverse = np.unique(ids, return_inverse=True)
    totals = np.bincount(inverse, weights=contrib, minlength=len(uniq))
    # the reason: for each candidate, the seed with the largest contribution (stable: the lowest index wins ties)
    order = np.lexsort((-contrib, inverse))
    first = order[np.r_[0, np.flatnonzero(np.diff(inverse[order])) + 1]]
    reason_seed = seed_of[first]
    positive = np.flatnonzero(totals > 0)
    if not len(positive):
        return []
    top = positive[np.lexsort((uniq[positive], -totals[positive]))][:n]
    return [(int(uniq[i]), float(totals[i]), int(reason_seed[i])) for i in top]
