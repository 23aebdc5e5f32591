"""The `animerec` command. Core subcommands live here; each service adds its own through the
`animerec.commands` entry-point group, so installing a service's package adds its verbs."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

import click

from . import config, kafka, migrate
from . import log as logsetup
from .config import ConfigError, CoreSettings
from .texttable import table


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
    """CoreSettings, then the settings class each installed package registers in the `animerec.settings`
    entry-point group (name: the package's short name, value: ``module:Class``)."""
    found: list[type] = [CoreSettings]
    for ep in sorted(entry_points(group="animerec.settings"), key=lambda ep: ep.name):
        cls = ep.load()
        if cls not in found:
            found.append(cls)
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


if __name__ == "__main__":
    main()
