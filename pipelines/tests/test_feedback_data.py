"""Verified feedback as training signal: likes become positives, dislikes negatives."""

import pandas as pd

from animerec.pipelines.feedback_data import apply_feedback


def test_likes_are_positives_and_dislikes_negatives():
    inter = pd.DataFrame({"user_id": [1, 1, 2], "anime_id": [10, 11, 10], "score": [4.0, 9.0, 8.0],
                          "status": ["completed", "completed", "watching"],
                          "ts": pd.to_datetime(["2026-01-01"] * 3, utc=True)})
    fb = pd.DataFrame({"user_id": [1, 1, 2], "anime_id": [10, 11, 12], "action": ["like", "dislike", "like"],
                       "ts": pd.to_datetime(["2026-02-01"] * 3, utc=True)})
    out = apply_feedback(inter, fb).set_index(["user_id", "anime_id"]).sort_index()
    assert len(out) == 4
    assert out.loc[(1, 10), "score"] == 10.0 and out.loc[(1, 10), "status"] == "completed"
    assert out.loc[(1, 11), "score"] == 1.0 and out.loc[(1, 11), "status"] == "dropped"
    assert out.loc[(2, 12), "score"] == 10.0  # a like on an anime not on the list adds a positive
    assert out.loc[(2, 10), "score"] == 8.0   # untouched
    assert apply_feedback(inter, fb.iloc[0:0]) is inter
