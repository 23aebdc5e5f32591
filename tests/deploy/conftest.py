"""Chart and overlay renders shared by the deployment tests (rendered once per session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `deploy` is a top-level folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from deploy import render  # noqa: E402


@pytest.fixture(scope="session")
def renders() -> dict[str, render.Render]:
    return {r.name: r for r in render.all_renders()}
