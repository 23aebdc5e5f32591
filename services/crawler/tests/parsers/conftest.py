"""Parser test helpers. The real MAL pages come from the dev kit's `mal_fixtures` fixture (../shared/mal-fixtures
next to the repository; ANIMEREC_SHARED_DIR overrides)."""

from __future__ import annotations

import pytest

from animerec.common import contracts


@pytest.fixture(scope="session")
def valid():
    """Assert every item of a page validates against its event schema; returns the page."""
    def check(page):
        for item in page.items:
            contracts.validate(item["item_type"], item)
        return page
    return check
