"""The per-user split and the ranking metrics, on hand-made data with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from animerec.pipelines.data import normalise_interactions
from animerec.pipelines.metrics import ranking_metrics, topk
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


def test_metrics_match_hand_computed_values():
    recs = np.array([[3, 1, 2], [0, 4, 5]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]], dtype="float32"))
    m = ranking_metrics(recs, relevant, 3, n_catalogue=6)
    assert m["recall@3"] == pytest.approx(1.0)
    ndcg_user1 = 1 / np.log2(3)        # hit at rank 2
    ndcg_user2 = 1 / np.log2(4)        # hit at rank 3
    assert m["ndcg@3"] == pytest.approx((ndcg_user1 + ndcg_user2) / 2)
    assert m["map@3"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert m["coverage@3"] == pytest.approx(6 / 6)


def test_users_without_relevant_items_are_not_averaged_in():
    recs = np.array([[0, 1], [0, 1]])
    relevant = sp.csr_matrix(np.array([[1, 0], [0, 0]], dtype="float32"))
    assert ranking_metrics(recs, relevant, 2, 2)["users"] == 1
    with pytest.raises(ValueError):
        ranking_metrics(recs, sp.csr_matrix((2, 2), dtype="float32"), 2, 2)


def test_topk_never_returns_masked_items():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    mask = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype="float32"))
    best = topk(lambda users: scores[users], np.array([0, 1]), 4, mask)
    assert best.tolist() == [[1, 2, 3, -1], [2, 1, 0, -1]]
