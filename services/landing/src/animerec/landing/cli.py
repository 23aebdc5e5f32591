"""`animerec land`: the landing writer."""

from __future__ import annotations

import logging

import click

from animerec.common import metrics
from animerec.common.config import ConfigError

log = logging.getLogger(__name__)


@click.command("land")
@click.option("--once", is_flag=True, help="Drain every assigned partition up to its high watermark, then exit.")
@click.option("--runner", default=None, help="Beam runner (default: ANIMEREC_LANDING_RUNNER, DirectRunner).")
@click.pass_context
def land(ctx: click.Context, once: bool, runner: str | None) -> None:
    """Land crawled items and feedback from Kafka into the PostgreSQL landing tables (Apache Beam)."""
    from . import config
    from .writer import Writer

    core = ctx.find_root().obj
    try:
        settings = config.settings(**({"runner": runner} if runner else {}))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not once:
        metrics.serve(core.metrics_port)
    writer = Writer(core, settings)
    writer.consumer.install_signal_handlers()
    totals = writer.run(once=once)
    click.echo(f"landed {totals.landed} message(s) in {totals.batches} batch(es): "
               f"{totals.duplicates} already landed, {totals.rejected} rejected")
