"""The dev kit's `animerec` subcommands: `stack` (the local stack) and `demo` (the whole system on one machine).
Registered in the `animerec.commands` entry-point group, so they exist only where the dev kit is installed."""

from __future__ import annotations

import logging
import signal
import sys
import time
from pathlib import Path

import click

from animerec.common import db
from animerec.common.cli import settings, table
from animerec.common.log import JsonFormatter

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


# Demo-sized training: the models and their comparison with the baselines are the real ones, trained for
# fewer epochs on fewer candidates so the whole demo fits in minutes on two cores (`--param` overrides);
# top_n stays the full 300 the API filters.
DEMO_PARAMS = ("epochs=3", "candidates=100", "popular_candidates=30", "similar_candidates=40")


@click.command("demo")
@click.option("--users", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Real MAL profiles to crawl from the mirror")
@click.option("--anime-limit", type=click.IntRange(1, 100_000), default=1200, show_default=True,
              help="Anime to crawl (those the crawled lists name come first)")
@click.option("--world", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the mirror's real datasets (default: the repo's data/; see data/README.md)")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Training setting over the demo's own (ANIMEREC_PIPELINES_<NAME>), repeatable")
@click.option("--api-port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--serve/--no-serve", default=True, show_default=True, help="Keep the API up until Ctrl-C")
@click.option("--clean", is_flag=True, help="Remove the demo's database, Redis keys and temporary files, then exit")
@click.pass_context
def demo_cmd(ctx: click.Context, users: int, anime_limit: int, world: Path | None, params: tuple[str, ...],
             api_port: int, serve: bool, clean: bool) -> None:
    """The whole system end to end on real MAL data, then the API and web page (Ctrl-C stops it all)."""
    from . import showcase
    from .console import RichReporter

    core = demo.demo_core(settings(ctx))
    folders = demo.scratch(core)
    if clean:
        for line in demo.reset(core):
            click.echo(f"removed {line}")
        return
    _interrupt_on_signals()
    reporter = RichReporter()
    out = reporter.console
    demo.reset(core)  # a fresh run: the schedule tables, dupe filter and lists of an older one would skip work
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    _log_to(folders["logs"] / "demo.log")
    say = logging.getLogger("animerec.devkit.demo").info
    out.print(f"[bold]animerec demo[/bold]: {users:,} real MyAnimeList users through the whole system "
              f"(logs: {folders['logs']})")
    stack = Stack(core)
    started = time.monotonic()
    system = demo.System(demo.environment(core, TMPDIR=str(folders["tmp"].resolve())), folders["logs"], say=say)
    flow = demo.Flow(system, core, users=users, anime_limit=anime_limit, reporter=reporter,
                     pipeline_root=folders["pipelines"].resolve())
    serving = False
    try:
        with flow.stage("stack") as row:
            try:
                stack.up(say=say)
            except (StackError, TimeoutError) as exc:
                raise click.ClickException(str(exc)) from None
            row.update(detail=f"Kafka, PostgreSQL ({db.database_name(core.postgres_url)}), Redis")
        flow.start_mirror(["--world", str(world)] if world else [])
        flow.seed()
        flow.crawl()
        flow.land()
        flow.etl()
        flow.train([*DEMO_PARAMS, *params])
        flow.publish()
        api = flow.start_api(api_port)
        flow.start_landing()
        streaming = flow.start_stream(folders["tmp"] / "stream-checkpoints")
        serving = True
        for name, report in flow.reports.items():
            out.print(f"\n[bold]{name}: evaluation on held-out lists[/bold]")
            out.print(evaluation_table(report), markup=False, highlight=False, soft_wrap=True)
        out.print("\n" + flow.table(), markup=False, soft_wrap=True)
        out.print(f"all stages in {time.monotonic() - started:.0f}s")
        examples = showcase.examples(flow.sql, lambda path: demo.http("GET", f"{api}{path}"))
        if examples:
            out.print("\n[bold]What three of the crawled users get[/bold] (their own top rated | the picks for them)")
            out.print(showcase.render(examples))
        out.print(f"\n[bold]web page: {api}/[/bold]"
                  + (f"   (try {', '.join(e.user for e in examples)})" if examples else ""))
        out.print(f"API:      {api}/v1/users/<name>/recommendations?n=20&sample=5   docs: {api}/docs")
        if serve:
            out.print("Serving; feedback and on-demand crawls land as they come"
                      + ("; the streaming job keeps trending and live metrics current" if streaming else "")
                      + ". Ctrl-C stops everything.")
            while not system.exited():
                time.sleep(1)
            name, code = system.exited()[0]
            raise click.ClickException(f"{name} exited with {code}; see {system.log(name)}")
    except demo.FlowError as exc:
        out.print("\n" + flow.table(), markup=False)
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        out.print("\nstopping: draining what is in flight, then stopping every process")
    finally:
        _shutdown(system, flow, stack, serving, say)


def evaluation_table(report: str) -> str:
    """The metrics table and the publishing decision of a pipeline's report; the tuned parameters and notes
    stay in models.runs and the pipeline's log."""
    kept: list[str] = []
    for line in report.strip().splitlines():
        if line.startswith("# "):
            continue
        if kept and not line.strip() and kept[-1].startswith("Published"):
            break
        kept.append(line.replace("**", ""))
    return "\n".join(kept).strip()


def _interrupt_on_signals() -> None:
    """Ctrl-C and `kill` both stop the demo the orderly way (KeyboardInterrupt), also when it was started in
    the background by a shell that left SIGINT ignored."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def _log_to(path: Path) -> None:
    """This process's own logs (stack, stages) go to a file, never to the terminal."""
    handler = logging.FileHandler(path)
    handler.setFormatter(JsonFormatter("demo"))
    logging.getLogger().handlers[:] = [handler]


def _shutdown(system: demo.System, flow: demo.Flow, stack: Stack, serving: bool, say) -> None:
    """Producers first (API, crawler service, workers), then land what they left on the topics, then the rest."""
    try:
        for name in ("api", "crawler-serve", *(f"crawl-worker-{i}" for i in range(flow.workers))):
            system.stop(name)
        if serving:
            flow.drain()
    except (KeyboardInterrupt, demo.FlowError) as exc:
        say(f"drain skipped: {exc!r}")
    finally:
        system.stop_all()
        stack.down(say=say)
