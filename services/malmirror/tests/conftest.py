"""Fixtures of the mirror's tests (test code, so not in the runtime package):

- `mirror_world`: a small generated world (60 users, 80 anime, seed 7), one per session.
- `mal_mirror`: a mirror of it on a free port, one per session: `.base_url`, `.stop()`, `.mirror`.
- `mal_mirror_factory`: start more mirrors (other worlds, faults); all are stopped at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from animerec.malmirror.faults import Faults
from animerec.malmirror.server import Handle, run_in_thread
from animerec.malmirror.world import World, generate


@pytest.fixture(scope="session")
def mirror_world() -> World:
    return generate(users=60, anime=80, seed=7)


@pytest.fixture(scope="session")
def mal_mirror(mirror_world: World) -> Iterator[Handle]:
    handle = run_in_thread(mirror_world)
    yield handle
    handle.stop()


@pytest.fixture
def mal_mirror_factory() -> Iterator[Callable[..., Handle]]:
    handles: list[Handle] = []

    def start(world: World, faults: Faults | None = None) -> Handle:
        handle = run_in_thread(world, faults=faults)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()
