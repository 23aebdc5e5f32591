"""`animerec evaluate`: the user-anime split, models and baselines run in one process on any dataset."""

from __future__ import annotations

import logging

from . import useranime
from .data import World
from .evaluation import Decision, Result, Stopwatch, decide
from .metrics import ranking_metrics, topk
from .settings import BASELINES, PipelineSettings

log = logging.getLogger(__name__)


def evaluate_user_anime(world: World, s: PipelineSettings, k: int | None = None) -> tuple[list[Result], Decision]:
    k = k or s.k
    splits = useranime.make_splits(world, s)
    ctx = useranime.Context(world, splits, s)
    if len(ctx.eval_users()) == 0:
        raise ValueError("no user has a positive held-out interaction: the dataset is too small to evaluate")
    results: list[Result] = []
    for name in BASELINES:
        with Stopwatch() as sw:
            model = useranime.fit_baseline(name, ctx, ctx.positives["train"])
            users = ctx.eval_users()
            recs = topk(model.score, users, k, ctx.train)
        relevant = ctx.positives["test"][users]
        results.append(Result(name, True, ranking_metrics(recs, relevant, k, ctx.index.n_items), sw.seconds))
        log.info("evaluated", extra={"model": name, **results[-1].metrics})
    with Stopwatch() as sw:
        towers = useranime.train_retrieval(ctx)
        sets = useranime.candidate_sets(ctx, towers)
    sets.pop("publish")
    results.append(Result("retrieval", False, useranime.evaluate_recs(ctx, sets["test"], k), sw.seconds))
    for kind in ("pointwise", "listwise"):
        with Stopwatch() as sw:
            ranker = useranime.train_ranker(kind, ctx, towers, sets["val"])
            ranked = useranime.rerank(ctx, towers, ranker, sets["test"], ctx.positives["train"])
        results.append(Result(kind, False, useranime.evaluate_recs(ctx, ranked, k), sw.seconds))
    decision = decide(results, s.promote_model, s.promote_baseline, f"{s.promote_metric}@{k}")
    return results, decision
