"""Honest promotion, the personalisation metrics, the budgeted tuning search and the shared
comparison (`compare.run_user_anime`) that evaluate, tune and recommend all call."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from animerec.pipelines import baselines, tuning
from animerec.pipelines.evaluation import Result, decide
from animerec.pipelines.metrics import personalisation_metrics

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


def test_personalisation_metrics_by_hand():
    recs = np.array([[0, 1], [0, 2], [3, -1], [0, 1]])
    counts = np.array([10, 20, 30, 5, 0, 0])       # 3 items with >= 10 interactions
    m = personalisation_metrics(recs, 2, counts)
    assert m["distinct_share@2"] == pytest.approx(4 / 3)
    assert m["top1_share"] == pytest.approx(3 / 4)
    # percentiles among the 4 items with interactions: 5 -> 0, 10 -> 33.3, 20 -> 66.7, 30 -> 100
    assert m["popularity_pct@2"] == pytest.approx(np.mean([100 / 3, 200 / 3, 100 / 3, 100, 0, 100 / 3, 200 / 3]))


def test_candidates_put_the_defaults_first_respect_the_budget_and_are_seeded():
    space = {"a": [1, 2, 3], "b": [10, 20]}
    c1 = tuning.candidates(space, {"a": 2, "b": 19}, 4, seed=1)
    assert c1[0] == {"a": 2, "b": 20} and len(c1) == 4 and len({tuple(sorted(c.items())) for c in c1}) == 4
    assert c1 == tuning.candidates(space, {"a": 2, "b": 19}, 4, seed=1)
    assert len(tuning.candidates(space, {}, 100, seed=1)) == 6   # the whole grid


def _clustered(n_users=240, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(u, i) for u in range(n_users) for i in rng.choice(np.arange(25) + 25 * (u % 2), 10, replace=False)]
    r, c = np.array(rows).T
    x = sp.csr_matrix((np.ones(len(r), "float32"), (r, c)), shape=(n_users, 55))
    coo = x.tocoo()
    held = np.random.default_rng(seed + 1).random(coo.nnz) < 0.2
    part = lambda keep: sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=x.shape)  # noqa: E731
    return part(~held), part(held)


def test_tuning_keeps_the_best_trial_on_validation():
    fit, target = _clustered()
    split = tuning.ValidationSplit(fit=fit, mask=fit, target=target)
    t = tuning.tune("item_knn", split, 10, budget=5, seed=0)
    assert len(t.trials) == 5
    assert t.val["ndcg@10"] == max(tr.value for tr in t.trials)
    assert t.params == max(t.trials, key=lambda tr: tr.value).params
    assert t.trials[0].params == baselines.ItemKNN.defaults()
    # ALS's seed and threads are fixed, not searched.
    t = tuning.tune("als", split, 10, budget=2, seed=0, fixed={"seed": 3, "threads": 1})
    assert all(tr.params["seed"] == 3 and tr.params["threads"] == 1 for tr in t.trials)


def test_pipeline_compare_decides_honestly_from_validation_figures(tmp_path):
    import json

    from animerec.pipelines import steps
    from animerec.pipelines.settings import from_params
    params = from_params({"k": 20, "promote_margin": 0.01}).params()
    results = {
        "popularity": {M: 0.11, f"val_{M}": 0.10, "users": 9},
        "ease": {M: 0.29, f"val_{M}": 0.30, "users": 9, "params": {"l2": 400.0}},
        "retrieval": {M: 0.40, f"val_{M}": 0.302, "users": 9},
        "listwise": {M: 0.50, "users": 9},
    }
    publishable = steps.compare(results, params, "t", str(tmp_path / "r.md"), str(tmp_path / "d.json"))
    decision = json.loads((tmp_path / "d.json").read_text())
    assert publishable and decision["publishable"] and not decision["promoted"]
    assert decision["model"] == "ease" and decision["baseline"] == "ease"
    report = (tmp_path / "r.md").read_text()
    assert "**Published:** ease" in report and "ease: l2=400.0" in report
    # The similar-anime pipeline still names its model and baseline: compared on test, publishable if it wins.
    publishable = steps.compare({"pairwise": {M: 0.2}, "co_occurrence": {M: 0.1}}, params, "s",
                                str(tmp_path / "s.md"), str(tmp_path / "s.json"), model="pairwise",
                                baseline="co_occurrence")
    assert publishable and json.loads((tmp_path / "s.json").read_text())["model"] == "pairwise"


def test_the_search_climbs_to_grid_neighbours_and_covers_a_small_grid_whole():
    assert tuning.neighbours({"a": [1, 2, 3], "b": [10, 20]}, {"a": 1, "b": 20}) == [{"a": 2, "b": 20},
                                                                                      {"a": 1, "b": 10}]
    fit, target = _clustered()
    split = tuning.ValidationSplit(fit=fit, mask=fit, target=target)
    t = tuning.tune("ease", split, 10, budget=len(baselines.EASE.space["l2"]), seed=0)
    assert sorted(tr.params["l2"] for tr in t.trials) == baselines.EASE.space["l2"]
    t = tuning.tune("rp3beta", split, 10, budget=6, seed=0)
    points = [tr.params for tr in t.trials]
    assert len(points) == 6 and len({tuple(sorted(p.items())) for p in points}) == 6
    # After the exploring half, each trial is one step from a point tried before it.
    for i in range(3, 6):
        assert any(sum(points[i][p] != q[p] for p in points[i]) == 1 for q in points[:i])
