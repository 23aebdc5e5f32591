"""Generated worlds: every interaction names a catalogue anime, once."""

from __future__ import annotations

import pandas as pd


def test_synthetic_world_is_consistent(small_world):
    assert small_world.interactions["anime_id"].isin(small_world.anime["anime_id"]).all()
    assert not small_world.interactions.duplicated(["user_id", "anime_id"]).any()
    assert isinstance(small_world.pairs, pd.DataFrame) and len(small_world.pairs) > 0
