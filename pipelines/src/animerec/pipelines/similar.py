"""Similar anime (anime -> anime): tuned baselines and a tuned blend, on the anchor protocol.

The anchor protocol (see anime_anime.py): for each user with held-out positives, the anchor is their
most recent (else a seeded random) positive of the history, and a similar-anime list for that
anchor is judged by the user's held-out positives, the user's history skipped before the cut at k.
Validation: history train_r, held-out val. Test: history train, held-out test. Every model is fit
on the history's positives only.

Baselines: popularity, genre cosine, and the item-item weights of the tuned user-anime baselines
(item-kNN on co-completion, EASE, RP3beta: row `anchor` of W, scores = X W), each tuned on
validation. The blend: per anchor the union of every source's best anime, scored by a weighted sum
of per-source features (collaborative scores scaled by the anchor's best, popularity, genre and
synopsis cosine, franchise / crawled relation, MAL user recommendations); the weights are found
by coordinate ascent on validation NDCG, starting from the best baseline alone, so the blend is
never below it on validation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import baselines, tuning
from .topk import ranking_metrics, topk_rows

log = logging.getLogger(__name__)

ITEM_ITEM = ("item_knn", "ease", "rp3beta")
BASELINES = ("popularity", "genre_cosine", "co_occurrence", *ITEM_ITEM)
FEATURES = ("ease", "item_knn", "rp3beta", "co_occurrence", "popularity", "genre", "text", "franchise",
            "recommenders")
COLLABORATIVE = (*ITEM_ITEM, "co_occurrence")
# The anchor protocol rewards popular anime more than the user-anime one: EASE wants a larger l2.
SPACES: dict[str, dict[str, list[Any]]] = {"ease": {"l2": [3000.0, 10000.0, 30000.0, 100000.0]}}
BLEND = "blend"

Scorer = Callable[[np.ndarray], np.ndarray]  # anchor positions -> [len, n_items] float32


@dataclass
class Side:
    """What the models know about anime besides the ratings (catalogue order)."""

    genres: np.ndarray                  # [n, g] L2-normalised genre vectors (dense: few genres)
    franchise: sp.csr_matrix            # n x n, 1 = same franchise (titles, crawled relations)
    text: np.ndarray | None = None      # [n, d] L2-normalised synopsis embeddings (zero rows: none)
    recommenders: sp.csr_matrix | None = None  # n x n, MAL users recommending b for a (symmetric)

    @property
    def n_items(self) -> int:
        return len(self.genres)

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"genres": self.genres}
        for name in ("franchise", "recommenders"):
            m = getattr(self, name)
            if m is not None:
                arrays |= {f"{name}_data": m.data, f"{name}_indices": m.indices, f"{name}_indptr": m.indptr}
        if self.text is not None:
            arrays["text"] = self.text
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> Side:
        with np.load(path) as z:
            n = len(z["genres"])
            mats = {name: sp.csr_matrix((z[f"{name}_data"], z[f"{name}_indices"], z[f"{name}_indptr"]), shape=(n, n))
                    if f"{name}_data" in z else None for name in ("franchise", "recommenders")}
            franchise = mats["franchise"] if mats["franchise"] is not None else sp.csr_matrix((n, n), dtype="float32")
            return cls(genres=z["genres"], franchise=franchise, text=z.get("text"),
                       recommenders=mats["recommenders"])


@dataclass
class Plan:
    """One evaluation: users, their anchors, what they have seen and what is relevant."""

    users: np.ndarray          # [U] user positions (rows of seen / relevant)
    anchors: np.ndarray        # [U] item positions
    seen: sp.csr_matrix        # users x items: skipped before the cut
    relevant: sp.csr_matrix    # users x items: held-out positives


@dataclass
class Fitted:
    """Every source fitted on one positives matrix."""

    side: Side
    popularity: np.ndarray                     # [n] positives per anime
    gram: baselines.Gram | None = None         # co-completion counts of the active anime
    models: dict[str, baselines.Baseline] = field(default_factory=dict)

    def scorer(self, name: str) -> Scorer:
        if name == "popularity":
            return lambda anchors: np.broadcast_to(self.popularity, (len(anchors), len(self.popularity)))
        if name in ("genre", "genre_cosine"):
            # Ties (identical genre sets are common) go to the more popular anime.
            tie = 1e-3 * np.log1p(self.popularity) / max(np.log1p(self.popularity).max(), 1.0)
            return lambda anchors: (self.side.genres[anchors] @ self.side.genres.T + tie).astype("float32")
        if name == "text":
            text = self.side.text
            if text is None:
                return lambda anchors: np.zeros((len(anchors), self.side.n_items), "float32")
            return lambda anchors: (text[anchors] @ text.T).astype("float32")
        if name == "franchise":
            return lambda anchors: self.side.franchise[anchors].toarray()
        if name == "recommenders":
            rec = self.side.recommenders
            if rec is None:
                return lambda anchors: np.zeros((len(anchors), self.side.n_items), "float32")
            return lambda anchors: np.log1p(rec[anchors].toarray())
        if name in self.models:
            return self.models[name].similar
        if name == "co_occurrence" and self.gram is not None:
            return self._co_occurrence
        raise ValueError(f"unknown similar-anime source {name!r}")


    def _co_occurrence(self, anchors: np.ndarray) -> np.ndarray:
        """Users who have both the anchor and the anime (0 on the diagonal)."""
        g = self.gram
        assert g is not None
        out = np.zeros((len(anchors), self.side.n_items), "float32")
        pos = np.full(self.side.n_items, -1, "int64")
        pos[g.active] = np.arange(len(g.active))
        rows = pos[anchors]
        ok = np.flatnonzero(rows >= 0)
        if len(ok):
            out[np.ix_(ok, g.active)] = g.co[rows[ok]]
        out[np.arange(len(anchors)), anchors] = 0.0
        return out


def fit(positives: sp.csr_matrix, side: Side, params: dict[str, dict[str, Any]],
        gram: baselines.Gram | None = None) -> Fitted:
    """Fit the item-item sources named in `params` (name -> parameters; "co_occurrence" takes none)
    on one positives matrix."""
    x = baselines.binary(positives)
    out = Fitted(side=side, popularity=np.asarray(x.sum(0)).ravel().astype("float32"))
    if any(name in COLLABORATIVE for name in params):
        gram = gram if gram is not None else baselines.Gram.of(x)
        out.gram = gram
    for name, p in params.items():
        if name in ITEM_ITEM:
            out.models[name] = baselines.fit(name, x, gram=gram, **p)
    return out


# --- evaluation ------------------------------------------------------------------------------------

def _mask_rows(scores: np.ndarray, seen: sp.csr_matrix, anchors: np.ndarray) -> np.ndarray:
    scores = np.array(scores, dtype="float32")
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    scores[np.arange(len(anchors)), anchors] = -np.inf
    return scores


def top_lists(scorer: Scorer, plan: Plan, k: int, batch: int = 256) -> np.ndarray:
    """[U, k] item positions per plan row: the anchor's best anime the user has not seen."""
    out = np.full((len(plan.users), k), -1, "int64")
    for start in range(0, len(plan.users), batch):
        sl = slice(start, start + batch)
        scores = _mask_rows(scorer(plan.anchors[sl]), plan.seen[plan.users[sl]], plan.anchors[sl])
        out[sl] = topk_rows(scores, k)
    return out


def evaluate(scorer: Scorer, plan: Plan, k: int) -> dict[str, float]:
    return ranking_metrics(top_lists(scorer, plan, k), plan.relevant[plan.users], k, plan.relevant.shape[1])


# --- tuning ----------------------------------------------------------------------------------------

@dataclass
class Tuned:
    name: str
    params: dict[str, Any]
    val: dict[str, float]
    trials: list[tuple[dict[str, Any], float]]
    model: baselines.Baseline | None = None   # the winner, fitted (reused by the blend)


def tune_item_item(name: str, positives: sp.csr_matrix, side: Side, plan: Plan, k: int, trials: int, seed: int,
                   metric: str = "ndcg", gram: baselines.Gram | None = None) -> Tuned:
    """Budgeted search of `name`'s space on `plan` (the user-anime tuning's candidates: defaults
    first, then a seeded sample)."""
    model_cls = baselines.MODELS[name]
    space = SPACES.get(name, model_cls.space)
    gram = gram if gram is not None else baselines.Gram.of(baselines.binary(positives))
    key = f"{metric}@{k}"
    trial_log: list[tuple[dict[str, Any], float]] = []
    best: tuple[float, dict[str, Any], dict[str, Any], baselines.Baseline] | None = None
    for p in tuning.candidates(space, model_cls.defaults(), trials, seed):
        fitted = fit(positives, side, {name: p}, gram=gram)
        m = evaluate(fitted.scorer(name), plan, k)
        trial_log.append((p, m[key]))
        log.info("similar tuning", extra={"model": name, "params": p, key: round(m[key], 5)})
        if best is None or m[key] > best[0]:
            best = (m[key], p, m, fitted.models[name])
    assert best is not None
    return Tuned(name, best[1], best[2], trial_log, best[3])


# --- blend -----------------------------------------------------------------------------------------

@dataclass
class Lists:
    """Per plan row: candidate anime (union of the sources' best, unseen) and their features."""

    items: np.ndarray     # [U, C] item positions, -1 pads
    features: np.ndarray  # [U, C, F] float32, FEATURES order

    def scores(self, weights: np.ndarray) -> np.ndarray:
        return np.where(self.items >= 0, self.features @ weights.astype("float32"), -np.inf)

    def rank(self, weights: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(items, scores), best first, the first `k` (default: all)."""
        scores = self.scores(weights)
        order = topk_rows(scores, k or scores.shape[1])
        safe = np.maximum(order, 0)
        return (np.where(order >= 0, np.take_along_axis(self.items, safe, 1), -1),
                np.take_along_axis(scores, safe, 1))


def _scaled(scores: np.ndarray) -> np.ndarray:
    """Each row divided by its largest value (collaborative scores differ in scale per anchor)."""
    top = scores.max(1, keepdims=True)
    return np.where(top > 0, scores / np.where(top > 0, top, 1), 0).astype("float32")


def feature_rows(fitted: Fitted, anchors: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """[A, len(pool), F]: the features of the `pool` anime for each anchor."""
    cols = []
    log_pop = np.log1p(fitted.popularity[pool])
    for name in FEATURES:
        if name in COLLABORATIVE:
            has = name in fitted.models or (name == "co_occurrence" and fitted.gram is not None)
            cols.append(_scaled(fitted.scorer(name)(anchors)[:, pool]) if has
                        else np.zeros((len(anchors), len(pool)), "float32"))
        elif name == "popularity":
            cols.append(np.broadcast_to(log_pop / max(log_pop.max(), 1.0), (len(anchors), len(pool))))
        elif name == "genre":
            cols.append(fitted.side.genres[anchors] @ fitted.side.genres[pool].T)
        else:
            cols.append(fitted.scorer(name)(anchors)[:, pool])
    return np.stack(cols, -1).astype("float32")


def candidate_lists(fitted: Fitted, anchors: np.ndarray, seen: sp.csr_matrix | None, depth: int, size: int,
                    pool: np.ndarray | None = None, batch: int = 128) -> Lists:
    """Per anchor (with the matching row of `seen`, skipped, when given): the union of each source's
    top `depth` anime of the `pool` (default: the catalogue), ordered by best rank, cut at `size`."""
    n = fitted.side.n_items
    pool = np.arange(n) if pool is None else np.asarray(pool, "int64")
    where = np.full(n, -1, "int64")
    where[pool] = np.arange(len(pool))
    depth, size = min(depth, len(pool)), min(size, len(pool))
    items = np.full((len(anchors), size), -1, "int64")
    feats = np.zeros((len(anchors), size, len(FEATURES)), "float32")
    worst = np.iinfo("int64").max
    for start in range(0, len(anchors), batch):
        a = anchors[start:start + batch]
        f = feature_rows(fitted, a, pool)
        blocked = np.zeros((len(a), len(pool)), bool)
        if seen is not None:
            rows = seen[start:start + batch]
            r = np.repeat(np.arange(len(a)), np.diff(rows.indptr))
            c = where[rows.indices]
            blocked[r[c >= 0], c[c >= 0]] = True
        self_pos = where[a]
        blocked[np.flatnonzero(self_pos >= 0), self_pos[self_pos >= 0]] = True
        best_rank = np.full((len(a), len(pool)), worst, "int64")
        for j, name in enumerate(FEATURES):
            col = f[:, :, j]
            if not col.any():
                continue
            top = topk_rows(np.where(blocked | ((col <= 0) & (name != "popularity")), -np.inf, col), depth)
            rows_ = np.broadcast_to(np.arange(len(a))[:, None], top.shape)
            ranks = np.broadcast_to(np.arange(depth), top.shape)
            ok = top >= 0
            np.minimum.at(best_rank, (rows_[ok], top[ok]), ranks[ok])
        order = topk_rows(np.where(best_rank < worst, -best_rank.astype("float64"), -np.inf), size)
        items[start:start + len(a)] = np.where(order >= 0, pool[np.maximum(order, 0)], -1)
        feats[start:start + len(a)] = np.take_along_axis(f, np.maximum(order, 0)[:, :, None], 1) \
            * (order >= 0)[:, :, None]
    return Lists(items, feats)


def plan_lists(fitted: Fitted, plan: Plan, depth: int, size: int, pool: np.ndarray | None = None) -> Lists:
    return candidate_lists(fitted, plan.anchors, plan.seen[plan.users], depth, size, pool)


def evaluate_lists(lists: Lists, weights: np.ndarray, plan: Plan, k: int) -> dict[str, float]:
    return ranking_metrics(lists.rank(weights, k)[0], plan.relevant[plan.users], k, plan.relevant.shape[1])


WEIGHT_GRID = (0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)


def tune_weights(lists: Lists, plan: Plan, k: int, start: dict[str, float], passes: int = 2,
                 metric: str = "ndcg") -> tuple[dict[str, float], float]:
    """Coordinate ascent on `metric`@k over the feature weights, from `start` (a baseline alone)."""
    w = np.array([start.get(n, 0.0) for n in FEATURES], "float64")
    key = f"{metric}@{k}"
    best = evaluate_lists(lists, w, plan, k)[key]
    usable = [j for j in range(len(FEATURES)) if np.any(lists.features[:, :, j])]
    for _ in range(passes):
        improved = False
        for j in usable:
            for value in WEIGHT_GRID:
                if value == w[j]:
                    continue
                trial = w.copy()
                trial[j] = value
                if not trial.any():
                    continue
                got = evaluate_lists(lists, trial, plan, k)[key]
                if got > best + 1e-6:
                    best, w, improved = got, trial, True
        if not improved:
            break
    return {n: float(v) for n, v in zip(FEATURES, w, strict=True) if v}, best
