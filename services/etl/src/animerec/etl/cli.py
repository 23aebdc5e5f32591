"""`animerec etl run` and `animerec etl export`."""

from __future__ import annotations

import sys

import click

from animerec.common.config import ConfigError

EXIT_BUSY = 2
EXIT_VALIDATION_FAILED = 3


def _settings():
    from . import settings as config
    try:
        return config.settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("etl")
def etl() -> None:
    """Landing -> staging -> Great Expectations -> processed tables, and the dataset export."""


@etl.command("run")
@click.pass_context
def run_cmd(ctx: click.Context) -> None:
    """Rebuild staging from landing, validate it, and promote it to processed if every suite passes.

    Exits 3 (processed untouched) when validation fails, 2 when another run holds the lock, 1 on any other
    error: alerts tell a data problem from a broken run by the code alone."""
    from .runner import EtlBusy, run

    core = ctx.find_root().obj
    settings = _settings()
    try:
        result = run(core.postgres_url, settings, push_labels=core.metrics_push_labels)
    except EtlBusy as exc:
        click.echo(f"etl: {exc}", err=True)
        sys.exit(EXIT_BUSY)
    for step, counts in result.counts.items():
        click.echo(f"{step}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    click.echo(result.validation.summary() if result.validation else "")
    if not result.ok:
        where = f" (details: {result.result_file} and etl.runs row {result.run_id})" if result.result_file else \
            f" (details: etl.runs row {result.run_id})"
        click.echo(f"etl run {result.run_id}: validation failed, processed tables left untouched{where}", err=True)
        sys.exit(EXIT_VALIDATION_FAILED)
    click.echo(f"etl run {result.run_id}: promoted " + ", ".join(f"{k}={v}" for k, v in result.promoted.items()))


@etl.command("export")
@click.option("--to", "to", required=True, help="Destination folder, or s3://bucket/prefix (pyarrow S3).")
@click.pass_context
def export_cmd(ctx: click.Context, to: str) -> None:
    """Write the processed tables as Parquet and CSV with a data dictionary."""
    from .export import export

    core = ctx.find_root().obj
    doc = export(core.postgres_url, to)
    for t in doc["tables"]:
        click.echo(f"{t['table']}: {t['rows']} rows")
    click.echo(f"dataset written to {to} (data_dictionary.md, data_dictionary.json)")
