"""The five baselines on small matrices with known structure: one interface, item-item weights,
EASE's closed form checked against a direct solve."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from animerec.pipelines import baselines
from animerec.pipelines.topk import ranking_metrics, topk


def clustered(n_users=300, n_items=60, seed=0):
    """Two taste clusters over the first 50 items; 10 catalogue items nobody has."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        lo = 0 if u % 2 == 0 else 25
        items = rng.choice(np.arange(lo, lo + 25), size=10, replace=False)
        rows += [(u, i) for i in items]
    r, c = np.array(rows).T
    return sp.csr_matrix((np.ones(len(r), "float32"), (r, c)), shape=(n_users, n_items))


def split(x, seed=1):
    coo = x.tocoo()
    test = np.random.default_rng(seed).random(coo.nnz) < 0.2
    mk = lambda keep: sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=x.shape)  # noqa: E731
    return mk(~test), mk(test)


@pytest.mark.parametrize("name", baselines.NAMES)
def test_every_baseline_scores_every_item_and_learns_the_clusters(name):
    train, test = split(clustered())
    params = {"factors": 4, "regularization": 1.0, "alpha": 5.0, "threads": 1} if name == "als" else {}
    model = baselines.fit(name, train, **params)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    scores = model.score(users[:7])
    assert scores.shape == (7, 60) and scores.dtype == np.float32
    recs = topk(model.score, users, 10, train)
    own = np.where(users[:, None] % 2 == 0, recs < 25, (recs >= 25) & (recs < 50))
    if name == "popularity":
        assert own.mean() < 0.75
    else:
        assert own.mean() > 0.95, f"{name} did not learn two obvious clusters: {own.mean():.3f}"
        assert ranking_metrics(recs, test[users], 10, 60)["ndcg@10"] > 0.3


@pytest.mark.parametrize("name", ["item_knn", "ease", "rp3beta"])
def test_item_item_models_score_with_their_weights_and_with_another_history(name):
    train, test = split(clustered())
    model = baselines.fit(name, train)
    w = model.item_weights
    assert w is not None and len(w.active) == 50
    dense = w.matrix.toarray() if sp.issparse(w.matrix) else w.matrix
    users = np.arange(5)
    expected = train[users][:, w.active].toarray() @ dense
    assert np.allclose(model.score(users)[:, w.active], expected, atol=1e-4)
    # Another history: scores follow it, not the fitted rows.
    other = test
    assert np.allclose(model.score(users, history=other)[:, w.active], other[users][:, w.active] @ dense, atol=1e-4)
    sim = model.similar(np.array([0, 55]))
    assert sim.shape == (2, 60) and sim[0, 0] == 0 and not sim[1].any()
    assert sim[0, :25].sum() > sim[0, 25:].sum()  # item 0's neighbours are its own cluster


def test_ease_matches_the_closed_form():
    x = clustered(n_users=80)
    model = baselines.fit("ease", x, l2=7.0)
    xa = x[:, model.active].toarray().astype("float64")
    p = np.linalg.inv(xa.T @ xa + 7.0 * np.eye(xa.shape[1]))
    b = np.eye(len(p)) - p / np.diag(p)[None, :]
    assert np.allclose(model.item_weights.matrix, b, atol=1e-5)
    assert np.allclose(np.diag(model.item_weights.matrix), 0)


def test_item_knn_keeps_k_neighbours_per_target_and_shrinks():
    x = clustered()
    model = baselines.fit("item_knn", x, neighbours=5, shrinkage=0.0)
    per_target = np.diff(model.item_weights.matrix.tocsc().indptr)
    assert per_target.max() == 5
    shrunk = baselines.fit("item_knn", x, neighbours=5, shrinkage=50.0)
    assert shrunk.item_weights.matrix.sum() < model.item_weights.matrix.sum()


def test_unknown_parameters_and_models_are_refused():
    with pytest.raises(ValueError, match="unknown parameter"):
        baselines.make("ease", lambda_=3)
    with pytest.raises(ValueError, match="unknown baseline"):
        baselines.make("svd")
    with pytest.raises(TypeError):
        baselines.fit("popularity", clustered()).similar(np.array([0]))


def test_als_rescores_users_from_a_new_history():
    train, _ = split(clustered())
    model = baselines.fit("als", train, factors=8, regularization=0.1, alpha=2.0, threads=1)
    users = np.array([0, 1])
    # User 0 (cluster one) now has a list from cluster two.
    history = sp.csr_matrix(([1.0] * 5, ([0] * 5, [26, 27, 28, 29, 30])), shape=train.shape)
    s = model.score(users, history=history)
    assert s[0, 25:50].mean() > s[0, :25].mean()
