"""ListMLE written here (tensorflow-ranking does not work with current TF), checked against the
Plackett-Luce likelihood computed by hand, and the rankers learning an ordering."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from animerec.pipelines import ranking
from animerec.pipelines.tfsetup import tensorflow


@pytest.fixture(scope="module")
def tf():
    return tensorflow(threads=1, seed=0)


def plackett_luce_nll(scores_in_label_order):
    s = list(scores_in_label_order)
    total = 0.0
    for i in range(len(s)):
        total += math.log(sum(math.exp(x) for x in s[i:])) - s[i]
    return total


def test_list_mle_equals_the_plackett_luce_negative_log_likelihood(tf):
    labels = tf.constant([[3.0, 1.0, 2.0, 0.0]])
    scores = tf.constant([[0.5, -1.0, 2.0, 0.1]])
    mask = tf.constant([[True, True, True, False]])  # the last entry is padding
    loss = float(ranking.list_mle_loss(tf, labels, scores, mask))
    assert loss == pytest.approx(plackett_luce_nll([0.5, 2.0, -1.0]), rel=1e-5)


def test_list_mle_is_lowest_when_scores_follow_the_labels(tf):
    labels = tf.constant([[2.0, 1.0, 0.0]])
    mask = tf.constant([[True, True, True]])
    losses = {perm: float(ranking.list_mle_loss(tf, labels, tf.constant([list(perm)]), mask))
              for perm in itertools.permutations([3.0, 2.0, 1.0])}
    assert min(losses, key=losses.get) == (3.0, 2.0, 1.0)


def test_rankers_learn_a_hidden_preference():
    rng = np.random.default_rng(0)
    lists, size, n_features = 200, 8, 4
    x = rng.normal(size=(lists, size, n_features)).astype("float32")
    utility = x[..., 0] - 0.5 * x[..., 1]
    labels = (utility > np.quantile(utility, 0.75, axis=1, keepdims=True)).astype("float32")
    mask = np.ones_like(labels, dtype=bool)
    common = {"hidden": 16, "epochs": 15, "learning_rate": 0.01, "seed": 0, "threads": 1}
    listwise = ranking.train_listwise(x, labels, mask, batch_size=32, **common)
    pointwise = ranking.train_pointwise(x.reshape(-1, n_features), labels.ravel(), batch_size=64, **common)
    a, b = x[:, 0], x[:, 1]
    pair_labels = (utility[:, 0] > utility[:, 1]).astype("float32")
    pairwise = ranking.train_pairwise(a, b, pair_labels, batch_size=32, **common)
    for model in (listwise, pointwise, pairwise):
        corr = np.corrcoef(model.score(x).ravel(), utility.ravel())[0, 1]
        assert corr > 0.8, (model.kind, corr)


def test_ranker_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=s).astype("float32") for s in [(3, 4), (4,), (4, 2), (2,), (2, 1), (1,)]]
    r = ranking.Ranker("pointwise", weights, np.zeros(3, "float32"), np.ones(3, "float32"))
    r.save(tmp_path / "r.npz")
    x = rng.normal(size=(5, 3)).astype("float32")
    assert np.allclose(ranking.Ranker.load(tmp_path / "r.npz").score(x), r.score(x))
