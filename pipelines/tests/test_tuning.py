"""The budgeted search for the baselines' settings: seeded candidates with the defaults first, the best trial on
validation kept, the climb to grid neighbours."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from animerec.pipelines import baselines, tuning


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
