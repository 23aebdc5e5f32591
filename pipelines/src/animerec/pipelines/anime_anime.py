"""Similar anime (anime -> anime), end to end: the anchor protocol, the tuned baselines, the tuned
blend, the honest choice between them and the published lists.

The anchor protocol: for each user with held-out positives, the anchor is their most recent (else a
seeded random) positive of the history; a similar-anime list for the anchor is judged by the user's
held-out positives, the user's history skipped before the cut at k. Validation: history train_r,
held-out val (tuning and the choice). Test: history train, held-out test (reported). A user's
"similar to X" list is useful when it holds what people who liked X go on to like, which is what
this measures.

Models (similar.py): popularity, genre cosine, co-completion counts, item-kNN, EASE and RP3beta
item-item weights, each tuned on validation, and a blend of them with franchise links (crawled
relations, else franchise.py from the catalogue), synopsis similarity and MAL user
recommendations, its weights tuned on validation. evaluation.decide picks what is published: the
blend only if it beats the best baseline on validation by the margin and is not worse on test,
else the best baseline's lists, labelled with its name.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import baselines, features, franchise, similar
from .data import World
from .evaluation import Decision, Result, decide
from .indexing import Index
from .settings import PipelineSettings
from .split import positive_mask
from .topk import topk_rows
from .user_anime import Splits, make_splits

log = logging.getLogger(__name__)

PROTOCOL = ("anchor protocol: per user with held-out positives, the anchor is the most recent (else a seeded random) "
            "positive of the history; relevant = the held-out positives; the user's history skipped. Tuned on "
            "validation (history train_r), reported on test (history train)")


class Context:
    def __init__(self, world: World, splits: Splits, s: PipelineSettings):
        self.world, self.splits, self.s = world, splits, s
        self.index = Index.build(world.anime, world.interactions)
        self.train = self.index.matrix(splits.train)
        self.train_r = self.index.matrix(splits.train_r)
        self.positives = {name: self.index.matrix(frame[positive_mask(frame, s.positive_min_score)])
                          for name, frame in (("all", world.interactions), ("train", splits.train),
                                              ("train_r", splits.train_r), ("val", splits.val),
                                              ("test", splits.test))}
        self.test_pos, self.val_pos = self.positives["test"], self.positives["val"]
        self.genres, _ = features.genre_matrix(world.anime, self.index.anime_ids)

    def anchors(self, frame: pd.DataFrame, users: np.ndarray) -> np.ndarray:
        """Per user position: the most recent positive of `frame` (seeded random when undated); -1 if none."""
        pos = frame[positive_mask(frame, self.s.positive_min_score)]
        rng = np.random.default_rng(self.s.seed)
        pos = pos.assign(_r=rng.random(len(pos)), _t=pd.to_datetime(pos["ts"], utc=True))
        pos = pos.sort_values(["user_id", "_t", "_r"], na_position="first")
        last = pos.groupby("user_id").tail(1)
        out = np.full(len(users), -1, dtype="int64")
        lookup = dict(zip(self.index.users(last["user_id"]), self.index.items(last["anime_id"]), strict=True))
        for i, u in enumerate(users):
            out[i] = lookup.get(u, -1)
        return out

    def plan(self, purpose: str) -> similar.Plan:
        """"val" (history train_r, held-out val) or "test" (history train, held-out test)."""
        history, frame, relevant = {"val": (self.train_r, self.splits.train_r, self.val_pos),
                                    "test": (self.train, self.splits.train, self.test_pos)}[purpose]
        users = np.flatnonzero(np.diff(relevant.indptr) > 0)
        anchors = self.anchors(frame, users)
        keep = anchors >= 0
        return similar.Plan(users[keep], anchors[keep], history, relevant)


def test_users(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    plan = ctx.plan("test")
    return plan.users, plan.anchors


def val_users(ctx: Context) -> tuple[np.ndarray, np.ndarray]:
    plan = ctx.plan("val")
    return plan.users, plan.anchors


def build_side(world: World, index: Index, s: PipelineSettings, text: np.ndarray | None = None) -> similar.Side:
    """Genres, franchise links (crawled relations plus franchise.py), MAL recommendations, synopses."""
    n = index.n_items
    genres, _ = features.genre_matrix(world.anime, index.anime_ids)
    links = franchise.world_links(world, index, genres, text)
    pairs = world.pairs
    a, b = index.items(pairs["anime_a"]), index.items(pairs["anime_b"])
    rec = (a >= 0) & (b >= 0) & (a != b) & pairs["recommendation"].to_numpy(bool)
    recommenders = None
    if rec.any():
        counts = pairs["num_recommenders"].fillna(1).to_numpy("float32")[rec]
        m = sp.csr_matrix((counts, (a[rec], b[rec])), shape=(n, n))
        recommenders = sp.csr_matrix(m.maximum(m.T))
    g = genres.toarray().astype("float32")
    g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    return similar.Side(genres=g, franchise=links, text=text, recommenders=recommenders)


def synopsis_vectors(world: World, index: Index, s: PipelineSettings,
                     positions: np.ndarray | None = None) -> np.ndarray | None:
    """Synopsis embeddings in catalogue order (cached; only `positions` when given, the other rows
    zero), or None when turned off or the sentence model is not installed."""
    if not s.similar_synopsis or "synopsis" not in world.anime:
        return None
    from . import text_embeddings
    anime = world.anime.set_index("anime_id").reindex(index.anime_ids)
    texts = [t if isinstance(t, str) and t.strip() else None for t in anime["synopsis"]]
    if positions is not None:
        keep = np.zeros(len(texts), bool)
        keep[positions] = True
        texts = [t if k else None for t, k in zip(texts, keep, strict=True)]
    try:
        return text_embeddings.synopsis_embeddings(index.anime_ids, texts, threads=s.tf_threads)
    except ImportError as exc:
        log.warning("synopsis embeddings unavailable, similar anime go without them", extra={"error": str(exc)})
        return None


@dataclass
class Outcome:
    """Everything a run decided: figures per model and what publishing needs to refit."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)      # tuned item-item parameters
    weights: dict[str, float] = field(default_factory=dict)    # tuned blend weights
    seconds: dict[str, float] = field(default_factory=dict)


def _figures(val: dict[str, float], test: dict[str, float], params: dict[str, Any], seconds: float) -> dict[str, Any]:
    return {**test, **{f"val_{k}": v for k, v in val.items() if k != "users"}, "params": params,
            "seconds": round(seconds, 2)}


def run(ctx: Context, side: similar.Side) -> Outcome:
    """Tune every baseline and the blend on validation, measure all of them on test."""
    s, k = ctx.s, ctx.s.k
    out = Outcome()
    val, test = ctx.plan("val"), ctx.plan("test")
    if len(test.users) == 0 or len(val.users) == 0:
        raise ValueError("no user with a held-out positive and a history anchor: too little data for similar anime")
    t0 = time.perf_counter()
    gram_r = baselines.Gram.of(baselines.binary(ctx.positives["train_r"]))
    gram_t = baselines.Gram.of(baselines.binary(ctx.positives["train"]))
    out.seconds["grams"] = time.perf_counter() - t0
    fit_r = similar.fit(ctx.positives["train_r"], side, {"co_occurrence": {}}, gram=gram_r)
    fit_t = similar.fit(ctx.positives["train"], side, {"co_occurrence": {}}, gram=gram_t)
    for name in ("popularity", "genre_cosine", "co_occurrence"):
        t0 = time.perf_counter()
        v = similar.evaluate(fit_r.scorer(name), val, k)
        t = similar.evaluate(fit_t.scorer(name), test, k)
        out.results[name] = _figures(v, t, {}, time.perf_counter() - t0)
    for name in similar.ITEM_ITEM:
        t0 = time.perf_counter()
        tuned = similar.tune_item_item(name, ctx.positives["train_r"], side, val, k, s.tune_trials, s.seed,
                                       s.promote_metric, gram=gram_r)
        out.params[name] = tuned.params
        assert tuned.model is not None
        fit_r.models[name] = tuned.model
        fit_t.models[name] = baselines.fit(name, ctx.positives["train"], gram=gram_t, **tuned.params)
        t = similar.evaluate(fit_t.scorer(name), test, k)
        out.results[name] = _figures(tuned.val, t, tuned.params, time.perf_counter() - t0)
        log.info("similar baseline", extra={"model": name, "params": tuned.params, "val": tuned.val[f"ndcg@{k}"],
                                            "test": t[f"ndcg@{k}"]})
    t0 = time.perf_counter()
    metric = f"{s.promote_metric}@{k}"
    best = max(similar.BASELINES, key=lambda n: out.results[n][f"val_{metric}"])
    start = {"genre_cosine": {"genre": 1.0}}.get(best, {best: 1.0})
    lists = similar.plan_lists(fit_r, val, s.similar_depth, s.similar_candidates, pool=gram_r.active)
    out.weights, _ = similar.tune_weights(lists, val, k, start, metric=s.promote_metric)
    v = similar.evaluate_lists(lists, _weight_vector(out.weights), val, k)
    del lists, fit_r
    used = {n: p for n, p in out.params.items() if out.weights.get(n)}
    fit_t.models = {n: m for n, m in fit_t.models.items() if n in used}
    t = similar.evaluate_lists(similar.plan_lists(fit_t, test, s.similar_depth, s.similar_candidates,
                                                  pool=gram_t.active), _weight_vector(out.weights), test, k)
    out.results[similar.BLEND] = _figures(v, t, {"weights": out.weights, **used}, time.perf_counter() - t0)
    return out


def _weight_vector(weights: dict[str, float]) -> np.ndarray:
    return np.array([weights.get(n, 0.0) for n in similar.FEATURES], "float32")


def publish_lists(ctx: Context, side: similar.Side, model: str, params: dict[str, dict[str, Any]],
                  weights: dict[str, float], top_n: int, batch: int = 256,
                  anchors: np.ndarray | None = None) -> pd.DataFrame:
    """`model`'s list for every anime of the catalogue (or the `anchors` positions), fit on all
    interactions; the final filter (excluded types and genres) applied."""
    positives = ctx.positives["all"]
    anchors = np.arange(ctx.index.n_items) if anchors is None else np.asarray(anchors, "int64")
    n = len(anchors)
    depth = top_n + 50
    if model == similar.BLEND:
        used = {name: p for name, p in params.items() if weights.get(name)}
        fitted = similar.fit(positives, side, {"co_occurrence": {}, **used})
        items, scores = np.full((n, depth), -1, "int64"), np.full((n, depth), -np.inf, "float32")
        for start in range(0, n, batch):
            sl = slice(start, start + batch)
            lists = similar.candidate_lists(fitted, anchors[sl], None, ctx.s.similar_depth,
                                            max(ctx.s.similar_candidates, depth))
            items[sl], scores[sl] = lists.rank(_weight_vector(weights), depth)
    else:
        fitted = similar.fit(positives, side, {model: params.get(model, {})} if model in similar.COLLABORATIVE
                             else {})
        scorer = fitted.scorer(model)
        items = np.full((n, depth), -1, "int64")
        scores = np.full((n, depth), -np.inf, "float32")
        for start in range(0, n, batch):
            a = anchors[start:start + batch]
            rows = np.array(scorer(a), dtype="float32")
            rows[np.arange(len(a)), a] = -np.inf
            top = topk_rows(rows, depth)
            items[start:start + len(a)] = top
            scores[start:start + len(a)] = np.take_along_axis(rows, np.maximum(top, 0), 1)
    return final_lists(ctx, anchors, items, scores, top_n)


def final_lists(ctx: Context, anchors: np.ndarray, items: np.ndarray, scores: np.ndarray, top_n: int) -> pd.DataFrame:
    anime = ctx.world.anime.set_index("anime_id").reindex(ctx.index.anime_ids)
    excluded_types = {t.lower() for t in ctx.s.excluded_types}
    excluded_genres = {g.lower() for g in ctx.s.excluded_genres}
    allowed = np.array([(str(t).lower() not in excluded_types) and not ({str(g).lower() for g in gs} & excluded_genres)
                        for t, gs in zip(anime["type"], anime["genres"], strict=True)], dtype=bool)
    ok = (items >= 0) & allowed[np.maximum(items, 0)] & (items != anchors[:, None]) & np.isfinite(scores)
    rank_ = np.cumsum(ok, axis=1)
    keep = ok & (rank_ <= top_n)
    rows, cols = np.nonzero(keep)
    return pd.DataFrame({"anime_id": ctx.index.anime_ids[anchors[rows]], "rank": rank_[rows, cols].astype("int32"),
                         "similar_id": ctx.index.anime_ids[items[rows, cols]],
                         "score": scores[rows, cols].astype("float32")})


def result_rows(results: dict[str, dict[str, Any]]) -> list[Result]:
    """`run`'s figures as evaluation.Result rows (the blend is the learned model)."""
    rows = []
    for name, f in results.items():
        test = {k: float(v) for k, v in f.items()
                if isinstance(v, (int, float)) and not k.startswith("val_") and k != "seconds"}
        val = {k[4:]: float(v) for k, v in f.items() if k.startswith("val_")}
        rows.append(Result(name, name != similar.BLEND, test, float(f.get("seconds", 0.0)), val=val,
                           params=dict(f.get("params") or {})))
    return rows


def choose(rows: list[Result], s: PipelineSettings) -> Decision:
    """The honest rule (evaluation.decide): the blend only if it beats the best tuned baseline on
    validation by the margin and is not worse on test; else that baseline is published."""
    return decide(rows, f"{s.promote_metric}@{s.k}", s.promote_margin)


@dataclass
class Evaluation:
    results: list[Result]
    decision: Decision
    seconds: dict[str, float]


def evaluate_world(world: World, s: PipelineSettings, k: int | None = None) -> Evaluation:
    """`animerec evaluate --similar`: the whole similar-anime comparison on one dataset."""
    s = dataclasses.replace(s, k=k or s.k)
    t0 = time.perf_counter()
    ctx = Context(world, make_splits(world, s), s)
    side = build_side(world, ctx.index, s, synopsis_vectors(world, ctx.index, s, positions=_active(ctx)))
    setup = time.perf_counter() - t0
    out = run(ctx, side)
    rows = result_rows(out.results)
    return Evaluation(rows, choose(rows, s), {"setup": setup, **out.seconds,
                                              "total": time.perf_counter() - t0})


def _active(ctx: Context) -> np.ndarray:
    """Anime with an interaction: the only ones the evaluation can rank (no synopsis needed elsewhere)."""
    return np.flatnonzero(np.diff(ctx.index.matrix(ctx.world.interactions).tocsc().indptr) > 0)
