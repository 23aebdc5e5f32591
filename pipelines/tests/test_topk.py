"""Batch top-k and the figures of top-k lists (recall, NDCG, MAP, coverage, personalisation), on hand-made
data with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from animerec.pipelines.topk import personalisation_metrics, ranking_metrics, topk


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


def test_personalisation_metrics_by_hand():
    recs = np.array([[0, 1], [0, 2], [3, -1], [0, 1]])
    counts = np.array([10, 20, 30, 5, 0, 0])       # 3 items with >= 10 interactions
    m = personalisation_metrics(recs, 2, counts)
    assert m["distinct_share@2"] == pytest.approx(4 / 3)
    assert m["top1_share"] == pytest.approx(3 / 4)
    # percentiles among the 4 items with interactions: 5 -> 0, 10 -> 33.3, 20 -> 66.7, 30 -> 100
    assert m["popularity_pct@2"] == pytest.approx(np.mean([100 / 3, 200 / 3, 100 / 3, 100, 0, 100 / 3, 200 / 3]))


def test_topk_never_returns_masked_items():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    mask = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype="float32"))
    best = topk(lambda users: scores[users], np.array([0, 1]), 4, mask)
    assert best.tolist() == [[1, 2, 3, -1], [2, 1, 0, -1]]
