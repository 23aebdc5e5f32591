"""`animerec stream run`: the streaming job on PyFlink's mini-cluster (locally) or as a Flink application."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from types import FrameType

import click

from animerec.common import config
from animerec.common.config import ConfigError

from .settings import StreamSettings

log = logging.getLogger(__name__)


@click.group("stream")
def stream() -> None:
    """Real-time trending and live online metrics (PyFlink)."""


@stream.command("run")
@click.option("--bounded", is_flag=True,
              help="From the group's committed offsets to the topics' current end, then stop (tests, backfills); "
                   "never resumes from a checkpoint")
@click.option("--fresh", is_flag=True, help="Ignore existing checkpoints (the totals start again from zero)")
@click.pass_context
def run(ctx: click.Context, bounded: bool, fresh: bool) -> None:
    """Run the job; it resumes from the newest checkpoint in ANIMEREC_STREAM_CHECKPOINT_DIR."""
    core = ctx.find_root().obj if ctx.find_root().obj is not None else config.core()
    try:
        settings = config.load(StreamSettings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        import pyflink  # noqa: F401
    except ImportError:
        raise click.ClickException("PyFlink is not installed here: the job runs from .venv-stream "
                                   "(`make setup`), e.g. .venv-stream/bin/animerec stream run") from None
    from . import job
    _stop_group_on_sigterm()
    # A bounded run never resumes: a restored Kafka split keeps the (unbounded) end it was first read with.
    restore = None if fresh or bounded else job.latest_checkpoint(settings.checkpoint_dir)
    click.echo(f"stream: {'bounded' if bounded else 'unbounded'} run, "
               f"{'resuming from ' + str(restore) if restore else 'no checkpoint to resume from'}", err=True)
    env = job.build(core, settings, bounded=bounded, restore=restore)
    env.execute("animerec-stream")


def _stop_group_on_sigterm() -> None:
    """On SIGTERM, stop the mini-cluster's JVM and Python workers with this process: they are its children and
    would outlive it. Abrupt is fine: state is in the checkpoints, both sinks are idempotent."""
    with contextlib.suppress(OSError):  # already a group leader (started in its own session)
        os.setpgid(0, 0)

    def stop(signum: int, frame: FrameType | None) -> None:
        if os.getpgid(0) == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
