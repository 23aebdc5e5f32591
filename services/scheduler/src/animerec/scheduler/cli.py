"""`animerec schedule --kind anime|profile --limit N`: one scheduler run (a Kubernetes CronJob)."""

from __future__ import annotations

import logging
import sys

import click

from animerec.common import config
from animerec.common.config import ConfigError

from .settings import SchedulerSettings
from .store import KINDS

log = logging.getLogger(__name__)


def _push_metrics(gateway: str, kind: str, labels: str) -> None:
    from prometheus_client import REGISTRY

    from animerec.common import metrics
    try:
        metrics.push(gateway, "animerec-scheduler", REGISTRY, labels=labels, grouping={"kind": kind})
    except OSError as exc:  # metrics must not fail a run that scheduled its URLs
        log.warning("could not push metrics", extra={"pushgateway": gateway, "error": str(exc)})


@click.command("schedule")
@click.option("--kind", type=click.Choice(KINDS), required=True, help="Which schedule table to draw from")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="URLs to schedule (default ANIMEREC_SCHEDULER_LIMIT)")
@click.option("--dry-run", is_flag=True, help="Print the URLs the policy picks; publish and mark nothing")
@click.pass_context
def schedule(ctx: click.Context, kind: str, limit: int | None, dry_run: bool) -> None:
    """Publish the next URLs to crawl, by policy, to the anime or profile schedule topic."""
    from . import scheduler
    core = ctx.find_root().obj if ctx.find_root().obj is not None else config.core()
    try:
        settings = config.load(SchedulerSettings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    result = scheduler.run(core, settings, kind, limit=limit, dry_run=dry_run)
    if dry_run:
        for url in result.picked:
            click.echo(url)
    if settings.pushgateway:
        _push_metrics(settings.pushgateway, kind, core.metrics_push_labels)
    click.echo(f"{kind}: picked {len(result.picked)}, scheduled {len(result.scheduled)}, "
               f"publish failures {len(result.failed)}; backlog {result.backlog}", err=True)
    if result.failed:
        for url, error in list(result.failed.items())[:10]:
            click.echo(f"  not scheduled: {url}: {error}", err=True)
        sys.exit(1)
