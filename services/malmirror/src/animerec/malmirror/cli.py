"""`animerec mirror serve`: the offline MyAnimeList mirror over a dataset or generated world."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click
import uvicorn

from animerec.common import datasets
from animerec.malmirror import world as worlds
from animerec.malmirror.faults import Faults
from animerec.malmirror.server import app

log = logging.getLogger("animerec.malmirror")


def load_world(world_dir: Path | None, generate_users: int | None, generate_anime: int | None,
               seed: int) -> worlds.World:
    if generate_users:
        return worlds.generate(generate_users, generate_anime, seed)
    try:
        return worlds.from_datasets(world_dir, seed)
    except datasets.DatasetNotFound as exc:
        raise click.ClickException(f"{exc}; or pass --world DIR or --generate-users N") from None


@click.group("mirror")
def mirror() -> None:
    """Offline MyAnimeList mirror: MAL pages at /, Jikan v4 JSON at /v4."""


@mirror.command("serve")
@click.option("--world", "world_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the real catalogue and user lists (default: the repo's data/; see data/README.md).")
@click.option("--generate-users", type=click.IntRange(min=1), default=None, help="Generate a world of N users.")
@click.option("--generate-anime", type=click.IntRange(min=1), default=None, help="Anime in a generated world.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--faults", "fault_spec", default="", envvar="ANIMEREC_MIRROR_FAULTS",
              help="Fault rates, e.g. '429=0.05,500=0.02,503=0.02,slow=0.05,truncate=0.01,garble=0.01,"
                   "private=0.05,404=0.01,slow_seconds=2,retry_after=1'.")
def serve(world_dir: Path | None, generate_users: int | None, generate_anime: int | None, seed: int, host: str,
          port: int, fault_spec: str) -> None:
    """Serve a world until interrupted."""
    try:
        faults = Faults.parse(fault_spec, seed=seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    started = time.perf_counter()
    world = load_world(world_dir, generate_users, generate_anime, seed)
    log.info("world loaded", extra={"users": world.n_users, "anime": world.n_anime, "entries": len(world.e_anime),
                                    "seconds": round(time.perf_counter() - started, 2)})
    click.echo(f"mirror: {world.n_users} users, {world.n_anime} anime, {len(world.e_anime)} list entries "
               f"loaded in {time.perf_counter() - started:.1f}s; serving http://{host}:{port}", err=True)
    uvicorn.run(app(world, faults), host=host, port=port, log_level="warning", access_log=False)
