"""`animerec crawl worker | serve | url`: the crawler's three ways to run."""

from __future__ import annotations

import json
import sys

import click

from animerec.common import config
from animerec.common.config import ConfigError

from . import sinks
from .targets import TargetError


def _core(ctx: click.Context):
    return ctx.find_root().obj if ctx.find_root().obj is not None else config.core()


def _settings(**overrides):
    from .runtime import load_settings
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("crawl")
def crawl() -> None:
    """Crawl MyAnimeList / Jikan: queue workers, an HTTP service, or one-off URLs."""


@crawl.command("worker")
@click.option("--sink", type=click.Choice(sinks.SINKS), default="kafka", show_default=True,
              help="Where items go (workers normally feed the ingestion topic)")
@click.option("--out", default="-", help="JSON lines file for --sink jsonl")
@click.pass_context
def worker(ctx: click.Context, sink: str, out: str) -> None:
    """Consume the schedule topics and crawl each URL; offsets are committed only once its items are in the sink."""
    from . import runtime
    from . import worker as worker_mod
    core = _core(ctx)
    settings = _settings()
    runtime.setup_logging(core)
    sys.exit(worker_mod.run(core, settings, sink=sink, out=out))


@crawl.command("serve")
@click.option("--host", default=None, help="Listen address (default ANIMEREC_CRAWLER_HOST)")
@click.option("--port", type=int, default=None, help="Port (default ANIMEREC_CRAWLER_PORT)")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """HTTP service: POST /crawl, POST /seed/anime/top, POST /seed/profile/recent, /healthz, /metrics."""
    from . import runtime, service
    core = _core(ctx)
    settings = _settings()
    runtime.setup_logging(core)
    service.serve(core, settings, host=host or settings.host, port=settings.port if port is None else port)


@crawl.command("url")
@click.argument("urls", nargs=-1, required=True)
@click.option("--sink", type=click.Choice(sinks.SINKS), default="jsonl", show_default=True)
@click.option("--out", default="-", show_default=True, help="JSON lines file for --sink jsonl ('-': stdout)")
@click.option("--source", type=click.Choice(("mal", "jikan")), default=None,
              help="Crawl through MAL pages or the Jikan API (default: the URL's own)")
@click.option("--bookkeeping/--no-bookkeeping", default=None,
              help="Record the URLs in the schedule tables (default ANIMEREC_CRAWLER_BOOKKEEPING)")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait for all URLs")
@click.pass_context
def url(ctx: click.Context, urls: tuple[str, ...], sink: str, out: str, source: str | None,
        bookkeeping: bool | None, timeout: float) -> None:
    """Crawl anime / profile URLs once and write their items to a sink; a summary per URL goes to stderr."""
    from concurrent.futures import wait

    from . import runtime, targets
    core = _core(ctx)
    settings = _settings()
    try:
        wanted = [targets.resolve(u, source) for u in urls]
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    runtime.setup_logging(core)
    with runtime.running(core, settings, sink=sink, out=out, bookkeeping=bookkeeping, dupefilter=False) as engine:
        futures = {t: engine.submit(t, force=True) for t in wanted}
        done, _ = wait(futures.values(), timeout=timeout)
        failed = 0
        for target, future in futures.items():
            if future not in done:
                summary = {"url": target.url, "status": "timeout"}
            elif future.exception() is not None:
                summary = {"url": target.url, "status": "error", "errors": [str(future.exception())]}
            else:
                summary = {k: v for k, v in future.result().as_dict().items() if k != "items"}
            failed += summary["status"] != "ok"
            click.echo(json.dumps(summary), err=True)
    if failed:
        sys.exit(1)
