"""What each pipeline component does, on artifact paths: the KFP component bodies only import this
module and call one function, so the steps are plain, testable Python."""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import World, world_from_postgres
from .evaluation import Result, decide, markdown_report, settings_note
from .settings import BASELINES, from_params
from .topk import ranking_metrics

log = logging.getLogger(__name__)

USER_MODELS = ("retrieval", "ranker")


def _dir(path: str) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def extract(pg_url: str, world_path: str) -> dict[str, int]:
    world = world_from_postgres(pg_url)
    if world.interactions.empty:
        raise ValueError("processed.user_anime is empty: nothing to train on (run the ETL or animerec import-dataset)")
    world.save(_dir(world_path))
    return {"anime": len(world.anime), "interactions": len(world.interactions), "pairs": len(world.pairs)}


def split(world_path: str, params: dict, splits_path: str) -> None:
    from . import user_anime
    s = from_params(params)
    user_anime.make_splits(World.load(Path(world_path)), s).save(_dir(splits_path))


def _context(world_path: str, splits_path: str, params: dict):
    from . import user_anime
    s = from_params(params)
    return user_anime.Context(World.load(Path(world_path)), user_anime.Splits.load(Path(splits_path)), s)


def tune_baselines(world_path: str, splits_path: str, params: dict, recs_path: str, results_path: str) -> dict:
    """The five baselines tuned on the validation split (compare.py, as `animerec evaluate` does), each
    evaluated on test; the best one on validation also writes its publishable lists (only it can be
    published when no learned model wins). Writes {name: {test metrics, val_<metric>, params}}."""
    from . import compare
    from .topk import topk
    from .user_anime import Candidates
    ctx = _context(world_path, splits_path, params)
    k, n = ctx.s.k, max(ctx.s.k, ctx.s.top_n)
    tuned = compare.tune(ctx, k)
    bank = compare.BaselineBank(ctx, tuned)
    results = {c.result.model: c.result.row() for c in compare.baseline_candidates(ctx, bank, k)}
    best = bank.best
    everyone = np.arange(ctx.index.n_users)
    items = topk(bank.model(best, "all").score, everyone, n, ctx.publish_mask())
    out = _dir(Path(recs_path) / best)
    Candidates(everyone, items, np.zeros(items.shape, "float32")).save(out / "publish.npz")
    Path(results_path).parent.mkdir(parents=True, exist_ok=True)
    Path(results_path).write_text(json.dumps(results, indent=2, default=float))
    return {"best": best, **{f"{name}_val_ndcg": r[f"val_ndcg@{k}"] for name, r in results.items()}}


def _bank(ctx, baselines_path: str):
    """The tuned baselines as the tune step chose them (its results file), fitted on demand."""
    from . import compare
    from .tuning import Tuned
    results = json.loads(Path(baselines_path).read_text())
    k = ctx.s.k
    tuned = {name: Tuned(name, dict(r.get("params") or {}), {f"ndcg@{k}": float(r.get(f"val_ndcg@{k}", 0.0))})
             for name, r in results.items()}
    return compare.BaselineBank(ctx, tuned)


def _publish_candidates(items: np.ndarray, out: Path) -> None:
    from .user_anime import Candidates
    users = np.arange(len(items))
    Candidates(users, items, np.zeros(items.shape, "float32")).save(_dir(out) / "publish.npz")


def train_retrieval(world_path: str, splits_path: str, params: dict, model_path: str) -> dict[str, Any]:
    """The two-tower model (train_r, early-stopped on validation): its validation and test figures,
    and its publishable lists (histories: everything known)."""
    from . import userrank
    from .compare import test_metrics
    ctx = _context(world_path, splits_path, params)
    s = ctx.s
    towers = userrank.train_towers(ctx)
    out = _dir(model_path)
    towers.save(out / "towers.npz")
    users = userrank.val_users(ctx)
    items, _ = towers.top(users, s.k, mask=ctx.train_r, history=ctx.positives["train_r"])
    val = ranking_metrics(items, ctx.positives["val"][users], s.k, ctx.index.n_items)
    test_users = ctx.eval_users()
    items, _ = towers.top(test_users, s.k, mask=ctx.train, history=ctx.positives["train"])
    everyone = np.arange(ctx.index.n_users)
    n = max(s.k, s.top_n)
    _publish_candidates(towers.top(everyone, n, mask=ctx.publish_mask(), history=ctx.positives["all"])[0], out)
    seconds = towers.epoch_seconds
    return {**test_metrics(ctx, test_users, items, s.k), **{f"val_{m}": v for m, v in val.items()},
            "epochs": len(seconds), "seconds_per_epoch": sum(seconds) / max(len(seconds), 1)}


def train_ranker(world_path: str, splits_path: str, baselines_path: str, model_path: str, params: dict,
                 ranker_path: str, ranked_path: str) -> dict[str, Any]:
    """Multi-source candidates + the listwise ranker (userrank.py), with the retrieval step's towers
    and the tune step's baselines: cross-fitted on validation (its honest validation figure),
    evaluated on test, and every user's publishable list (sources refitted on everything)."""
    from . import userrank
    from .compare import test_metrics
    from .retrieval import Towers
    ctx = _context(world_path, splits_path, params)
    s = ctx.s
    bank = _bank(ctx, baselines_path)
    run = userrank.fit(ctx, bank, towers=Towers.load(Path(model_path) / "towers.npz"))
    out = _dir(ranker_path)
    for i, ranker in enumerate(run.model.rankers):
        ranker.save(out / f"ranker{i}.npz")
    users = ctx.eval_users()
    recs, _ = userrank.rank_users(ctx, bank, run, "train", users, ctx.train, s.k)
    everyone = np.arange(ctx.index.n_users)
    published, _ = userrank.rank_users(ctx, bank, run, "all", everyone, ctx.publish_mask(), max(s.k, s.top_n))
    _publish_candidates(published, Path(ranked_path))
    return {**test_metrics(ctx, users, recs, s.k), **{f"val_{m}": v for m, v in run.model.val.items()},
            **{k: float(v) for k, v in run.diagnostics.items()}}


def compare(results: dict[str, dict[str, Any]], params: dict, title: str, report_path: str,
            decision_path: str) -> bool:
    """Metrics of every model -> markdown report and the promotion decision: the honest rule on the
    validation figures (`val_<metric>` keys) decides among all models (evaluation.decide; a ValueError when
    no baseline has one). The run is always publishable: its lists are the decided model's."""
    s = from_params(params)
    k = s.k
    rows = [_result(name, figures) for name, figures in results.items()]
    decision = decide(rows, f"{s.promote_metric}@{k}", s.promote_margin)
    Path(report_path).write_text(markdown_report(title, rows, k, decision, [settings_note(s)]))
    Path(decision_path).write_text(json.dumps({**decision.__dict__, "publishable": True, "results": results},
                                              indent=2, default=float))
    return True


def _result(name: str, figures: dict[str, Any]) -> Result:
    baseline = name in BASELINES
    metrics = {k: float(v) for k, v in figures.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
               and not k.startswith("val_") and k != "seconds"}
    val = {k[4:]: float(v) for k, v in figures.items() if k.startswith("val_")}
    return Result(name, baseline, metrics, float(figures.get("seconds", 0.0)), val=val,
                  params=dict(figures.get("params") or {}))


def final_user_lists(world_path: str, splits_path: str, params: dict, lists_path: str,
                     model: str, model_recs_path: str) -> int:
    """The final filter on the chosen model's publishable candidates -> top_n per user (parquet)."""
    from . import user_anime
    ctx = _context(world_path, splits_path, params)
    cands = user_anime.Candidates.load(Path(model_recs_path) / "publish.npz")
    lists = user_anime.final_lists(ctx, cands, ctx.s.top_n)
    Path(lists_path).parent.mkdir(parents=True, exist_ok=True)
    lists.to_parquet(lists_path, index=False)
    log.info("final lists", extra={"model": model, "rows": len(lists)})
    return len(lists)


def postgres_url(given: str) -> str:
    """A run's PostgreSQL URL: the one passed (local runs), else ANIMEREC_POSTGRES_URL from the task's Secret."""
    url = given or os.environ.get("ANIMEREC_POSTGRES_URL", "")
    if not url:
        raise ValueError("no PostgreSQL URL: pass pg_url (local runs) or set ANIMEREC_POSTGRES_URL from a Secret")
    return url


def record_run(pg_url: str, pipeline: str, params: dict, lists_path: str, report_path: str, decision_path: str,
               run_id: str = "") -> str:
    """Store the run (decision, metrics, report) and its lists in models.*; keep the last keep_runs runs."""
    from animerec.common import db
    s = from_params(params)
    run_id = run_id or f"{pipeline}-{uuid.uuid4().hex[:12]}"
    decision = json.loads(Path(decision_path).read_text())
    lists = pd.read_parquet(lists_path)
    table, columns = (("models.user_recommendations", "(run_id, user_id, rank, anime_id, score)")
                      if pipeline == "user_anime" else
                      ("models.similar_anime", "(run_id, anime_id, rank, similar_id, score)"))
    with db.connect(pg_url) as conn, conn.transaction():
        conn.execute("INSERT INTO models.runs (run_id, pipeline, model, promoted, decision, metrics, report) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (run_id, pipeline, decision["model"], bool(decision.get("publishable", decision["promoted"])),
                      json.dumps({k: v for k, v in decision.items() if k != "results"}),
                      json.dumps(decision["results"]), Path(report_path).read_text()))
        with conn.cursor().copy(f"COPY {table} {columns} FROM STDIN") as copy:
            for row in lists.itertuples(index=False):
                copy.write_row((run_id, int(row[0]), int(row[1]), int(row[2]), float(row[3])))
        conn.execute("""DELETE FROM models.runs WHERE pipeline = %s AND run_id NOT IN (
                            SELECT run_id FROM models.runs WHERE pipeline = %s
                            ORDER BY created_at DESC, run_id LIMIT %s)""", (pipeline, pipeline, s.keep_runs))
    return run_id


def runtime_env() -> dict[str, str]:
    """Environment every component runs with (also set on the tasks of the compiled pipelines)."""
    return {"TF_USE_LEGACY_KERAS": "1", "OPENBLAS_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
            "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}


# --- anime-anime -----------------------------------------------------------------------------------

def _similar_context(world_path: str, splits_path: str, params: dict):
    from . import anime_anime, user_anime
    s = from_params(params)
    return anime_anime.Context(World.load(Path(world_path)), user_anime.Splits.load(Path(splits_path)), s)


def similar_side(world_path: str, splits_path: str, params: dict, side_path: str) -> dict[str, int]:
    """What similar anime know besides ratings: genres, franchise links (crawled relations, else
    detected from the catalogue), MAL user recommendations, synopsis embeddings (cached)."""
    from . import anime_anime
    ctx = _similar_context(world_path, splits_path, params)
    text = anime_anime.synopsis_vectors(ctx.world, ctx.index, ctx.s)
    side = anime_anime.build_side(ctx.world, ctx.index, ctx.s, text)
    side.save(_dir(side_path) / "side.npz")
    synopses = 0 if text is None else int((text != 0).any(1).sum())
    return {"franchise_links": int(side.franchise.nnz), "synopses": synopses}


def similar_models(world_path: str, splits_path: str, side_path: str, params: dict, results_path: str) -> dict:
    """Every similar-anime baseline and the blend, tuned on validation and measured on test."""
    from . import anime_anime
    from .similar import Side
    ctx = _similar_context(world_path, splits_path, params)
    out = anime_anime.run(ctx, Side.load(Path(side_path) / "side.npz"))
    (_dir(results_path) / "results.json").write_text(json.dumps(
        {"results": out.results, "params": out.params, "weights": out.weights}, indent=2, default=float))
    return out.results


def similar_compare(results_path: str, params: dict, report_path: str, decision_path: str) -> bool:
    """The honest choice (anime_anime.choose); always publishable: the lists are the best measured."""
    from . import anime_anime
    from .evaluation import markdown_report, settings_note
    s = from_params(params)
    results = json.loads((Path(results_path) / "results.json").read_text())["results"]
    rows = anime_anime.result_rows(results)
    decision = anime_anime.choose(rows, s)
    notes = [settings_note(s), anime_anime.PROTOCOL]
    Path(report_path).write_text(markdown_report("similar anime models", rows, s.k, decision, notes))
    Path(decision_path).write_text(json.dumps({**decision.__dict__, "publishable": True, "results": results},
                                              indent=2, default=float))
    return True


def final_similar_lists(world_path: str, splits_path: str, params: dict, side_path: str, results_path: str,
                        decision_path: str, lists_path: str) -> int:
    """The decided model (the blend if promoted, else the best baseline), refit on everything -> a
    ranked list for every anime of the catalogue (parquet)."""
    from . import anime_anime
    from .similar import Side
    ctx = _similar_context(world_path, splits_path, params)
    tuned = json.loads((Path(results_path) / "results.json").read_text())
    model = json.loads(Path(decision_path).read_text())["model"]
    lists = anime_anime.publish_lists(ctx, Side.load(Path(side_path) / "side.npz"), model, tuned["params"],
                                     tuned["weights"], ctx.s.top_n)
    Path(lists_path).parent.mkdir(parents=True, exist_ok=True)
    lists.to_parquet(lists_path, index=False)
    log.info("final similar lists", extra={"model": model, "rows": len(lists)})
    return len(lists)
