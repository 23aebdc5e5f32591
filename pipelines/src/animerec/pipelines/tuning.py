"""Budgeted hyper-parameter search for the baselines, on a validation split carved from train.

Every baseline gets the same budget: a fixed number of trials on its grid (`Baseline.space`): its
defaults and a seeded random sample explore, then the rest climb from the best point to its grid
neighbours; a grid no larger than the budget is searched whole. A trial fits on the validation
split's training part and scores NDCG@k on the validation positives, with everything already in
the training part masked. Test data never enters here.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import baselines
from .topk import ranking_metrics, topk

log = logging.getLogger(__name__)


@dataclass
class Trial:
    params: dict[str, Any]
    value: float
    seconds: float


@dataclass
class Tuned:
    name: str
    params: dict[str, Any]                 # the winning values (fixed ones included)
    val: dict[str, float]                  # the winner's validation metrics
    trials: list[Trial] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "trials": [asdict(t) for t in self.trials]}


@dataclass
class ValidationSplit:
    fit: sp.csr_matrix      # positives the trials train on
    mask: sp.csr_matrix     # everything the users already have there (never recommended)
    target: sp.csr_matrix   # held-out positives

    def users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.target.indptr) > 0)


def candidates(space: dict[str, list[Any]], defaults: dict[str, Any], budget: int, seed: int) -> list[dict[str, Any]]:
    """Up to `budget` distinct points of the grid `space`: the defaults (snapped into the grid) first,
    then a seeded random sample of the rest."""
    if not space:
        return [{}]
    names = sorted(space)
    grid = [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]
    first = {n: _nearest(space[n], defaults.get(n, space[n][0])) for n in names}
    rest = [g for g in grid if g != first]
    rng = np.random.default_rng(seed)
    picked = rng.permutation(len(rest))[:max(budget - 1, 0)]
    return [first, *(rest[i] for i in sorted(picked))]


def _nearest(values: list[Any], value: Any) -> Any:
    if value in values:
        return value
    try:
        return min(values, key=lambda v: abs(float(v) - float(value)))
    except (TypeError, ValueError):
        return values[0]


def neighbours(space: dict[str, list[Any]], point: dict[str, Any]) -> list[dict[str, Any]]:
    """The grid points one step away from `point` on one parameter."""
    out = []
    for name in sorted(space):
        values = space[name]
        i = values.index(point[name])
        out += [{**point, name: values[j]} for j in (i - 1, i + 1) if 0 <= j < len(values)]
    return out


def tune(name: str, split: ValidationSplit, k: int, budget: int, seed: int, fixed: dict[str, Any] | None = None,
         gram: baselines.Gram | None = None) -> Tuned:
    """The best of `budget` trials of baseline `name` by NDCG@k on the validation split: the defaults
    and a seeded random half of the budget explore the grid, the other half walks from the best point
    so far to its untried grid neighbours (one parameter, one step)."""
    cls = baselines.MODELS[name]
    fixed = dict(fixed or {})
    space = {p: v for p, v in cls.space.items() if p not in fixed}
    users = split.users()
    if len(users) == 0:
        raise ValueError("no user has a positive validation interaction: too little data to tune on")
    gram = gram if gram is not None else baselines.Gram.of(split.fit)
    metric = f"ndcg@{k}"
    started = time.perf_counter()
    best: tuple[float, dict[str, Any], dict[str, float]] | None = None
    trials: list[Trial] = []
    explore = candidates(space, cls.defaults(), max(1, (budget + 1) // 2), seed)
    queue = list(explore)
    tried: list[dict[str, Any]] = []
    while len(trials) < budget:
        if not queue:
            assert best is not None
            centre = {p: best[1][p] for p in space}
            queue = [c for c in neighbours(space, centre) if c not in tried]
            if not queue:  # a local optimum with every neighbour tried: explore the rest of the grid
                queue = [c for c in candidates(space, cls.defaults(), budget * 4, seed + len(trials)) if c not in tried]
            if not queue:
                break  # the whole grid is tried
            queue = queue[:1]
        point = queue.pop(0)
        if point in tried:
            continue
        tried.append(point)
        t0 = time.perf_counter()
        params = {**point, **fixed}
        model = cls(**params).fit(split.fit, gram)
        recs = topk(model.score, users, k, split.mask)
        m = ranking_metrics(recs, split.target[users], k, split.fit.shape[1])
        trials.append(Trial(params, m[metric], time.perf_counter() - t0))
        log.info("trial", extra={"model": name, "params": params, metric: round(m[metric], 5),
                                 "seconds": round(trials[-1].seconds, 2)})
        if best is None or m[metric] > best[0]:
            best = (m[metric], params, m)
    assert best is not None
    return Tuned(name, best[1], best[2], trials, time.perf_counter() - started)


def tune_all(split: ValidationSplit, k: int, budget: int, seed: int, names: tuple[str, ...] = baselines.NAMES,
             fixed: dict[str, dict[str, Any]] | None = None) -> dict[str, Tuned]:
    gram = baselines.Gram.of(split.fit)  # shared by every item-item trial
    return {n: tune(n, split, k, budget, seed, (fixed or {}).get(n), gram) for n in names}
