"""`animerec import-dataset | pipeline run/compile | evaluate | publish`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from animerec.common.config import ConfigError

PIPELINES = ("user-anime", "anime-anime")


def _core(ctx: click.Context):
    from animerec.common import config
    return ctx.find_root().obj if ctx.find_root().obj is not None else config.core()


def _settings(params: tuple[str, ...]):
    """Pipeline settings from ANIMEREC_PIPELINES_*, overridden by --param name=value."""
    from animerec.common import config

    from . import settings as settings_mod

    overrides = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected name=value", param_hint="--param")
        overrides[name.strip()] = value
    try:
        environ = dict(os.environ)
        for name, value in overrides.items():
            environ[f"{settings_mod.PipelineSettings.env_prefix}{name.upper()}"] = value
        known = {f.upper() for f in settings_mod.PipelineSettings.__dataclass_fields__}
        unknown = [n for n in overrides if n.upper() not in known]
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        return config.load(settings_mod.PipelineSettings, environ)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--param") from None


param_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                            help="Override a pipeline setting (see ANIMEREC_PIPELINES_*), repeatable")


@click.command("import-dataset")
@click.option("--ratings", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Ratings CSV (cooperunion rating.csv sample, MAL 2020 animelist.csv / rating_complete.csv)")
@click.option("--anime", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Anime catalogue CSV (cooperunion anime.csv / anime_enriched.csv, MAL 2020 anime.csv)")
@click.option("--replace", is_flag=True, help="Empty the processed tables first")
@click.pass_context
def import_dataset(ctx: click.Context, ratings: Path, anime: Path, replace: bool) -> None:
    """Load a public MAL dataset straight into the processed tables (users become `user<id>`)."""
    from .data import DatasetError, import_to_postgres
    try:
        report = import_to_postgres(_core(ctx).postgres_url, ratings, anime, replace=replace)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"imported {report.anime} anime, {report.users} users, {report.interactions} interactions"
               + (f" ({report.skipped_unknown_anime} ratings of unknown anime skipped)"
                  if report.skipped_unknown_anime else ""))


@click.group("pipeline")
def pipeline() -> None:
    """Run the Kubeflow pipelines locally or compile them for a cluster."""


def _pipeline_func(name: str):
    if name == "user-anime":
        from .user_anime_pipeline import user_anime_pipeline
        return user_anime_pipeline
    from .anime_anime_pipeline import anime_anime_pipeline
    return anime_anime_pipeline


@pipeline.command("run")
@click.argument("name", type=click.Choice(PIPELINES))
@param_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the local runner keeps artifacts (default: <state_dir>/pipelines)")
@click.option("--publish", is_flag=True,
              help="Publish the run's lists to Redis when it is promoted (the pipeline's last step)")
@click.pass_context
def pipeline_run(ctx: click.Context, name: str, params: tuple[str, ...], root: Path | None, publish: bool) -> None:
    """Run a whole pipeline here (kfp.local, subprocesses, no Docker) on the processed tables."""
    from .localrun import run_local
    core = _core(ctx)
    s = _settings(params)
    root = root or Path(core.state_dir) / "pipelines"
    try:
        result = run_local(_pipeline_func(name), core.postgres_url, s.params(), root, publish=publish)
    except RuntimeError as exc:
        raise click.ClickException(f"pipeline {name} failed: {exc}") from None
    click.echo(result.report)
    click.echo(f"run {result.run_id}: {'promoted' if result.promoted else 'NOT promoted'} "
               f"(artifacts under {root})")


@pipeline.command("compile")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="Folder for the pipeline YAML files")
@click.argument("names", nargs=-1, type=click.Choice(PIPELINES))
def pipeline_compile(out: Path, names: tuple[str, ...]) -> None:
    """Write the cluster YAML of the pipelines (training steps request GPUs, see ANIMEREC_PIPELINES_GPU_*)."""
    from kfp import compiler
    out.mkdir(parents=True, exist_ok=True)
    for name in names or PIPELINES:
        path = out / f"{name}.yaml"
        compiler.Compiler().compile(_pipeline_func(name), str(path))
        click.echo(f"wrote {path}")


ratings_option = click.option("--ratings", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
                              help="Ratings CSV: user_id, anime_id[, rating|score][, watching_status|status]"
                                   "[, timestamp] (see README, Evaluate on your own dataset)")
anime_option = click.option("--anime", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
                            help="Anime catalogue CSV: anime_id|mal_id, name|title[, genre, type, ...]")
format_option = click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table")


def _load_world(ratings: Path, anime: Path, min_score: int):
    """The world of two CSVs, with what was dropped or merged reported on stderr."""
    from .data import DatasetError, load_csv_world
    try:
        world, report = load_csv_world(ratings, anime, min_score)
    except DatasetError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line, err=True)
    return world


def _run(world, s, k: int, learned: bool):
    from .compare import run_user_anime
    try:
        return run_user_anime(world, s, k, learned=learned)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _print_results(ev, k: int, fmt: str, title: str = "user -> anime models") -> None:
    from .evaluation import markdown_report, params_lines, text_table
    if fmt == "json":
        click.echo(json.dumps({"results": [r.row() for r in ev.results], "decision": ev.decision.__dict__,
                               "seconds": {n: round(v, 1) for n, v in ev.seconds.items()}}, indent=2))
    elif fmt == "markdown":
        click.echo(markdown_report(title, ev.results, k, ev.decision, []))
    else:
        click.echo(text_table(ev.results, k))
        click.echo(f"\ntuned on validation (NDCG@{k}):")
        for line in params_lines(ev.results):
            click.echo(f"  {line}")
        click.echo(f"\npublished: {ev.decision.model}: {ev.decision.reason}")


@click.command("evaluate")
@ratings_option
@anime_option
@click.option("--k", type=click.IntRange(1, 1000), default=None, help="Metric cut-off (default: ANIMEREC_PIPELINES_K)")
@format_option
@click.option("--similar", is_flag=True, help="Similar anime instead: six tuned baselines and the blend on the "
              "anchor protocol (each user's latest history positive -> their held-out positives)")
@param_option
def evaluate(ratings: Path, anime: Path, k: int | None, fmt: str, similar: bool, params: tuple[str, ...]) -> None:
    """Compare the user-anime models with the five tuned baselines on any ratings CSV + catalogue:
    same split, tuning on a validation split carved from train, test figures, promotion decision."""
    s = _settings(params)
    k = k or s.k
    world = _load_world(ratings, anime, s.positive_min_score)
    if similar:
        from .anime_anime import evaluate_world
        try:
            ev = evaluate_world(world, s, k)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        _print_results(ev, k, fmt, "similar anime models")
        return
    _print_results(_run(world, s, k, learned=True), k, fmt)


@click.command("tune")
@ratings_option
@anime_option
@click.option("--k", type=click.IntRange(1, 1000), default=None, help="Metric cut-off (default: ANIMEREC_PIPELINES_K)")
@format_option
@param_option
def tune(ratings: Path, anime: Path, k: int | None, fmt: str, params: tuple[str, ...]) -> None:
    """Tune the five baselines (popularity, item-kNN, EASE, RP3beta, ALS) on a validation split carved
    from train (budget: ANIMEREC_PIPELINES_TUNE_TRIALS trials each); print validation and test
    figures and the chosen values."""
    s = _settings(params)
    k = k or s.k
    _print_results(_run(_load_world(ratings, anime, s.positive_min_score), s, k, learned=False), k, fmt)


@click.command("recommend")
@ratings_option
@anime_option
@click.option("--k", type=click.IntRange(1, 1000), default=20, show_default=True, help="Anime per user")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV to write: user_id, anime_id, rank, model")
@param_option
def recommend(ratings: Path, anime: Path, k: int, out: Path, params: tuple[str, ...]) -> None:
    """Train the whole user-anime pipeline on RATINGS exactly as `evaluate` does (tuning included) and
    write every user's top k by the model it would publish, trained on all of RATINGS; never an anime
    already in that user's rows of RATINGS."""
    s = _settings(params)
    ev = _run(_load_world(ratings, anime, s.positive_min_score), s, s.k, learned=True)
    lists = ev.publish(k)
    out.parent.mkdir(parents=True, exist_ok=True)
    lists[["user_id", "anime_id", "rank", "model"]].to_csv(out, index=False)
    d = ev.decision
    click.echo(f"wrote {len(lists)} rows for {lists['user_id'].nunique()} users to {out} "
               f"(model {d.model}: {d.reason})")


@click.command("publish")
@click.option("--user-run", default=None, help="models.runs id of the user-anime lists (default: latest promoted)")
@click.option("--anime-run", default=None, help="models.runs id of the similar-anime lists (default: latest promoted)")
@click.option("--allow-unpromoted", is_flag=True, help="Take the latest runs even if not promoted")
@click.option("--grace-seconds", type=click.IntRange(0, 7 * 24 * 3600), default=3600,
              help="How long the previous version stays readable")
@click.option("--list-length", type=click.IntRange(1, 1000), default=300, show_default=True,
              help="Entries per published list (the API filters up to 300 candidates)")
@click.pass_context
def publish(ctx: click.Context, user_run: str | None, anime_run: str | None, allow_unpromoted: bool,
            grace_seconds: int, list_length: int) -> None:
    """Write the latest promoted lists, cards, popular/trending and seen lists to Redis as a new
    version, then switch the live version atomically."""
    from .publish import PublishError
    from .publish import publish as do_publish
    core = _core(ctx)
    try:
        version, payload = do_publish(core.postgres_url, core.redis_url, core.redis_prefix,
                                      grace_seconds=grace_seconds, user_run=user_run, anime_run=anime_run,
                                      allow_unpromoted=allow_unpromoted, list_length=list_length)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published version {version}: {len(payload.user_recs)} users (run {payload.user_run}), "
               f"{len(payload.similar)} similar lists (run {payload.anime_run}), {len(payload.cards)} cards")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pipeline())
