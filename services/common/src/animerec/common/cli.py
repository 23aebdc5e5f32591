"""The `animerec` command. Core subcommands live here; each service adds its own through the
`animerec.commands` entry-point group, so installing a service's package adds its verbs."""

from __future__ import annotations

import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import click

from . import config, kafka, migrate
from . import log as logsetup
from .config import ConfigError, CoreSettings


def table(rows: list[list[object]], headers: list[str]) -> str:
    cells = [headers, *[[("" if c is None else str(c)) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class PluginGroup(click.Group):
    """A click group that also lists the commands services register as entry points."""

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in entry_points(group="animerec.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._plugins()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None and name in self._plugins():
            try:
                command = self._plugins()[name].load()
            except Exception as exc:  # a broken plugin must not take the whole CLI down
                message = f"animerec {name} is unavailable: {type(exc).__name__}: {exc}"

                @click.command(name, help=f"(unavailable: {exc})", context_settings={"ignore_unknown_options": True})
                @click.argument("args", nargs=-1, type=click.UNPROCESSED)
                def command(args: tuple[str, ...]) -> None:
                    raise click.ClickException(message)
        return command


def settings(ctx: click.Context) -> CoreSettings:
    return ctx.find_root().obj


@click.group(cls=PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """animerec: crawl MyAnimeList, build datasets, train recommenders, serve recommendations."""
    try:
        ctx.obj = config.core()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logsetup.setup("cli", ctx.obj.log_level, "text" if sys.stderr.isatty() else ctx.obj.log_format)


@main.group()
def stack() -> None:
    """Start, stop and inspect the local stack (Tansu broker, PostgreSQL, Redis)."""


def _stack(ctx: click.Context):
    from .stack import Stack
    return Stack(settings(ctx))


@stack.command("up")
@click.pass_context
def stack_up(ctx: click.Context) -> None:
    """Start what is missing, create topics, apply migrations (idempotent)."""
    from .stack import StackError
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


@main.command("migrate")
@click.pass_context
def migrate_cmd(ctx: click.Context) -> None:
    """Apply pending SQL migrations from schemas/migrations (idempotent)."""
    from . import db
    s = settings(ctx)
    db.ensure_database(s.postgres_url)
    try:
        applied = migrate.apply(s.postgres_url)
    except migrate.MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(applied)} migration(s) applied" + "".join(f"\n  V{m.version:03d} {m.name}" for m in applied))


@main.group()
def topics() -> None:
    """Kafka topics from schemas/topics.yaml."""


@topics.command("create")
@click.pass_context
def topics_create(ctx: click.Context) -> None:
    """Create missing topics and grow partitions (idempotent)."""
    for name, action in kafka.ensure_topics(settings(ctx)):
        click.echo(f"{name}: {action}")


@topics.command("list")
@click.pass_context
def topics_list(ctx: click.Context) -> None:
    """Configured topics and what the broker has."""
    from . import contracts
    s = settings(ctx)
    have = kafka.partition_counts(s)
    rows = [[t.name, t.partitions, have.get(t.name, "missing"), t.retention_ms // 3_600_000, ",".join(t.schemas)[:60]]
            for t in contracts.topics(s.topic_prefix).values()]
    click.echo(table(rows, ["topic", "partitions", "on broker", "retention h", "schemas"]))


def settings_classes() -> list[type]:
    """CoreSettings, then every installed service's settings dataclass (animerec.<pkg>.settings or .config)."""
    import dataclasses
    import importlib
    import pkgutil

    import animerec

    found: list[type] = [CoreSettings]
    # Editable installs do not always show in the namespace's __path__; the command plugins name the rest.
    packages = {info.name for info in pkgutil.iter_modules(animerec.__path__)}
    packages |= {ep.value.split(".")[1] for ep in entry_points(group="animerec.commands")}
    for package in sorted(packages):
        for leaf in ("settings", "config"):
            try:
                module = importlib.import_module(f"animerec.{package}.{leaf}")
            except ImportError:
                continue
            for value in vars(module).values():
                if (dataclasses.is_dataclass(value) and isinstance(value, type) and hasattr(value, "env_prefix")
                        and value.__module__ == module.__name__ and value not in found):
                    found.append(value)
    return found


@main.command("config")
@click.option("--all", "everything", is_flag=True, help="Also every installed service's settings")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown"]), default="table", show_default=True)
def config_cmd(everything: bool, fmt: str) -> None:
    """Print the settings: variable, type, default and meaning."""
    classes = settings_classes() if everything else [CoreSettings]
    for cls in classes:
        rows = [[r["variable"], r["type"], "(secret)" if r["secret"] else r["default"], r["help"]]
                for r in config.describe(cls)]
        if fmt == "markdown":
            service = cls.__module__.split(".")[1].replace("common", "every service")
            click.echo(f"### {service} (`{getattr(cls, 'env_prefix', config.PREFIX)}*`)\n")
            click.echo("| variable | type | default | meaning |\n|---|---|---|---|")
            for row in rows:
                cells = [str(c if c not in (None, "") else "").replace("|", "\\|") for c in row]
                click.echo("| `" + cells[0] + "` | " + " | ".join(cells[1:]) + " |")
            click.echo()
        else:
            click.echo(table(rows, ["variable", "type", "default", "meaning"]) + "\n")


@main.command("demo")
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
    from . import demo
    from .stack import Stack, StackError
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


if __name__ == "__main__":
    main()
