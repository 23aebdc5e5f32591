"""The per-user split and what counts as a positive, on hand-made data with known answers."""

from __future__ import annotations

import pandas as pd

from animerec.pipelines.data import normalise_interactions
from animerec.pipelines.split import positive_mask, split_per_user


def frame(rows):
    return normalise_interactions(pd.DataFrame(rows, columns=["user_id", "anime_id", "score", "status", "ts"]))


def test_dated_users_hold_out_their_most_recent_interactions():
    rows = [(1, a, 8, "completed", f"2024-01-{a:02d}") for a in range(1, 11)]
    train, test = split_per_user(frame(rows), 0.2, seed=0)
    assert sorted(test["anime_id"]) == [9, 10]
    assert len(train) == 8 and not set(train["anime_id"]) & set(test["anime_id"])


def test_undated_users_get_a_seeded_random_hold_out_and_single_interactions_stay_in_train():
    rows = [(1, a, 8, None, None) for a in range(1, 21)] + [(2, 5, 7, None, None)]
    train1, test1 = split_per_user(frame(rows), 0.25, seed=7)
    _, test2 = split_per_user(frame(rows), 0.25, seed=7)
    _, test3 = split_per_user(frame(rows), 0.25, seed=8)
    assert test1.equals(test2) and len(test1) == 5
    assert set(test1["anime_id"]) != set(test3["anime_id"])
    assert 2 in set(train1["user_id"]) and 2 not in set(test1["user_id"])


def test_positive_means_completed_or_watching_and_scored_high_enough():
    df = frame([(1, 1, 9, "completed", None), (1, 2, 3, "completed", None), (1, 3, None, "watching", None),
                (1, 4, 9, "dropped", None), (1, 5, None, "plan_to_watch", None), (1, 6, None, None, None)])
    assert positive_mask(df, 6).tolist() == [True, False, True, False, False, True]
