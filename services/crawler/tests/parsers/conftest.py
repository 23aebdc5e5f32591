"""Where the real MAL pages live: ../shared/mal-fixtures next to the repository (ANIMEREC_SHARED_DIR overrides)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from animerec.common import contracts

REPO = Path(__file__).resolve().parents[4]


def shared_dir() -> Path:
    return Path(os.environ.get("ANIMEREC_SHARED_DIR") or REPO.parent / "shared")


@pytest.fixture(scope="session")
def mal_fixtures() -> Path:
    root = shared_dir() / "mal-fixtures"
    if not (root / "MANIFEST.txt").is_file():
        pytest.skip(f"real MAL fixtures not found at {root} (set ANIMEREC_SHARED_DIR)")
    return root


@pytest.fixture(scope="session")
def valid():
    """Assert every item of a page validates against its event schema; returns the page."""
    def check(page):
        for item in page.items:
            contracts.validate(item["item_type"], item)
        return page
    return check
