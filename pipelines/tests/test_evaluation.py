"""Honest promotion: the best tuned baseline (on validation) is published unless a model beats it there by the
margin and is not worse on test."""

from __future__ import annotations

import pytest

from animerec.pipelines.evaluation import Result, decide

M = "ndcg@20"


def res(name, val, test, baseline=False):
    return Result(name, baseline, {M: test}, val={M: val} if val is not None else {})


BASES = [res("popularity", 0.10, 0.11, True), res("ease", 0.30, 0.29, True), res("als", 0.28, 0.30, True)]


def test_the_best_baseline_is_chosen_on_validation_and_published_when_no_model_wins():
    d = decide([*BASES, res("ranker", 0.302, 0.35)], M, margin=0.01)
    # 0.302 is not 1% above ease's 0.30: not promoted, ease (best on validation, not on test) is published.
    assert not d.promoted and d.model == "ease" and d.baseline == "ease" and d.candidate == "ranker"
    assert d.model_value == d.baseline_value == 0.29
    assert "publishing the best tuned baseline ease" in d.reason


def test_a_model_is_promoted_only_beating_the_margin_on_validation_and_not_worse_on_test():
    d = decide([*BASES, res("ranker", 0.31, 0.29)], M, margin=0.01)
    assert d.promoted and d.model == "ranker" and d.baseline == "ease"
    assert not decide([*BASES, res("ranker", 0.31, 0.289)], M, margin=0.01).promoted   # worse on test
    assert not decide([*BASES, res("ranker", 0.31, 0.35)], M, margin=0.05).promoted    # margin not met


def test_of_several_winners_the_best_on_validation_is_promoted_and_unvalidated_models_are_not():
    d = decide([*BASES, res("a", 0.33, 0.31), res("b", 0.35, 0.30), res("c", None, 0.9)], M, margin=0.0)
    assert d.model == "b"
    assert "not eligible: c" in d.reason
    d = decide([*BASES, res("c", None, 0.9)], M)
    assert not d.promoted and d.model == "ease"
    with pytest.raises(ValueError, match="no baseline"):
        decide([res("c", 0.5, 0.5)], M)
