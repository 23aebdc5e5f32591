"""The dev kit's `animerec` subcommands: `stack` (the local stack) and `demo` (the whole system on one machine).
Registered in the `animerec.commands` entry-point group, so they exist only where the dev kit is installed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from animerec.common.cli import settings, table

from . import demo
from .stack import Stack, StackError


@click.group()
def stack() -> None:
    """Start, stop and inspect the local stack (Tansu broker, PostgreSQL, Redis)."""


def _stack(ctx: click.Context) -> Stack:
    return Stack(settings(ctx))


@stack.command("up")
@click.pass_context
def stack_up(ctx: click.Context) -> None:
    """Start what is missing, create topics, apply migrations (idempotent)."""
    try:
        _stack(ctx).up(say=click.echo)
    except (StackError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None


@stack.command("down")
@click.pass_context
def stack_down(ctx: click.Context) -> None:
    """Stop only what `stack up` started."""
    _stack(ctx).down(say=click.echo)


@stack.command("status")
@click.pass_context
def stack_status(ctx: click.Context) -> None:
    """Print a table of the components and their state."""
    rows = _stack(ctx).status()
    click.echo(table([[r.name, r.address, r.state, "yes" if r.started_by_us else "no", r.detail] for r in rows],
                     ["component", "address", "state", "started here", "detail"]))
    if any(r.state != "up" for r in rows):
        sys.exit(1)


@click.command("demo")
@click.option("--users", type=click.IntRange(1, 100_000), default=200, show_default=True, help="Profiles to crawl")
@click.option("--anime-limit", type=click.IntRange(1, 100_000), default=2500, show_default=True,
              help="Anime to crawl (those the crawled lists name first)")
@click.option("--world", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Datasets folder of the mirror's world (default: ../shared/datasets)")
@click.option("--api-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True, help="Keep the API up until Ctrl-C")
@click.pass_context
def demo_cmd(ctx: click.Context, users: int, anime_limit: int, world: Path | None, api_port: int, serve: bool) -> None:
    """The whole system end to end on the real datasets, then the API and web page."""
    s = settings(ctx)
    world = world or demo.shared_dir() / "datasets"
    if not world.is_dir():
        raise click.ClickException(f"{world}: no datasets folder (set ANIMEREC_SHARED_DIR or pass --world)")
    stack = Stack(s)
    try:
        stack.up(say=click.echo)
    except (StackError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    system = demo.System(demo.environment(s), Path(s.state_dir) / "demo-logs", say=click.echo)
    flow = demo.Flow(system, s, users=users, anime_limit=anime_limit, say=click.echo)
    started = time.monotonic()
    try:
        flow.start_mirror(["--world", str(world)])
        flow.seed()
        flow.crawl()
        flow.land()
        flow.etl()
        flow.train()
        flow.publish()
        api = flow.start_api(api_port)
        click.echo("\n" + flow.table())
        click.echo(f"\nall stages in {time.monotonic() - started:.0f}s; logs in {system.logdir}")
        name = flow.sql('SELECT user_name FROM processed."user" ORDER BY num_completed DESC NULLS LAST LIMIT 1')
        click.echo(f"\nweb page: {api}/" + (f"   (try the MAL user name {name[0][0]})" if name else ""))
        click.echo(f"API:      {api}/v1/users/<name>/recommendations?n=20&sample=5   docs: {api}/docs")
        if serve:
            click.echo("Ctrl-C stops everything the demo started.")
            while all(p.poll() is None for _, p in system.procs):
                time.sleep(1)
            raise click.ClickException("a demo process exited; see the logs")
    except demo.FlowError as exc:
        click.echo("\n" + flow.table(), err=True)
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("\nstopping")
    finally:
        system.stop_all()
        stack.down(say=click.echo)
