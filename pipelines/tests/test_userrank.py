"""Multi-source candidates, their features and the listwise ranker, on small synthetic worlds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from animerec.pipelines import candidates, ranking


def _side(n_items: int, text: np.ndarray | None = None) -> candidates.ItemSide:
    genres = sp.csr_matrix(np.eye(n_items, 4, dtype="float32"))
    return candidates.ItemSide(genres=genres, studios=sp.csr_matrix((n_items, 1), dtype="float32"),
                               franchise=sp.csr_matrix((n_items, n_items), dtype="float32"),
                               mal_score=np.zeros(n_items, "float32"), log_members=np.zeros(n_items, "float32"),
                               year=np.full(n_items, 2005.0, "float32"), text=text)


def test_union_orders_by_best_rank_and_respects_depths_and_exclusions():
    # two sources over 6 items for one user; item 5 is excluded
    a = np.array([[6, 5, 4, 3, 2, 1]], "float32")     # ranks: item0 0, item1 1, ...
    b = np.array([[1, 2, 3, 4, 6, 5]], "float32")     # item4 0, item5 1, item3 2
    allowed = np.ones((1, 6), bool)
    allowed[0, 5] = False
    ranks = {}
    for name, s in (("a", a), ("b", b)):
        s = np.where(allowed, s, -np.inf)
        ranks[name] = candidates._rank_rows(s)
    items = candidates.union_candidates(ranks, {"a": 2, "b": 2}, allowed, size=5)
    # a's top 2: items 0, 1; b's top 2 among allowed: items 4, 3. Best ranks: 0->0, 4->0, 1->1, 3->1.
    assert items.tolist() == [[0, 4, 1, 3, -1]]


def test_lists_never_hold_excluded_items_and_features_are_per_user_normalised():
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 40
    history = sp.csr_matrix((rng.random((n_users, n_items)) < 0.2).astype("float32"))
    exclude = history.copy()
    pop = np.asarray(history.sum(0)).ravel() + 1
    scores = rng.normal(size=(n_users, n_items)).astype("float32")
    sources = {"s": lambda u, h: scores[u] * 100.0, "t": lambda u, h: scores[u]}
    lists = candidates.build_lists(np.arange(n_users), history, exclude, sources, {"s": 10, "t": 5}, 12,
                                   _side(n_items), pop, groups=("sources", "priors"))
    for r in range(n_users):
        got = lists.items[r][lists.items[r] >= 0]
        assert not set(got) & set(history[r].indices)
        assert len(set(got)) == len(got)
    # a source scaled by 100 gets the same per-user z-scores and ranks: history size or score scale
    # does not leak into the features
    z_s, z_t = lists.names.index("s_z"), lists.names.index("t_z")
    np.testing.assert_allclose(lists.features[..., z_s], lists.features[..., z_t], atol=1e-4)


def test_labels_mark_exactly_the_held_out_items_and_never_feed_the_features():
    rng = np.random.default_rng(1)
    n_users, n_items = 20, 30
    train = sp.csr_matrix((rng.random((n_users, n_items)) < 0.25).astype("float32"))
    text = rng.normal(size=(n_items, 8)).astype("float32")
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    pop = np.asarray(train.sum(0)).ravel() + 1
    scores = rng.normal(size=(n_users, n_items)).astype("float32")
    src = {"b": lambda u, h: scores[u]}
    lists = candidates.build_lists(np.arange(n_users), train, train, src, {"b": 30}, 15, _side(n_items, text), pop)
    test = sp.csr_matrix((rng.random((n_users, n_items)) < 0.1).astype("float32"))
    labels = candidates.labels_of(lists, test)
    for r in range(n_users):
        want = np.isin(lists.items[r], test[r].indices) & (lists.items[r] >= 0)
        np.testing.assert_array_equal(labels[r] > 0, want)
    # the same lists with the held-out items added to the history would differ: features read the
    # history they are given, and only it
    leaked = candidates.build_lists(np.arange(n_users), train + test, train, src, {"b": 30}, 15,
                                    _side(n_items, text), pop)
    j = lists.names.index("synopsis_cosine")
    assert not np.allclose(leaked.features[..., j], lists.features[..., j])


@pytest.mark.slow
def test_ranker_learns_a_planted_signal_and_beats_a_shuffled_order():
    """Relevance depends on two features in a way no single one orders well; the ranker must beat
    the best single feature and a random order on users it never saw."""
    rng = np.random.default_rng(3)
    users, length = 600, 40
    x = rng.normal(size=(users, length, 4)).astype("float32")
    utility = x[..., 0] + 1.5 * x[..., 1] * (x[..., 2] > 0)
    labels = np.zeros((users, length), "float32")
    top = np.argsort(-utility, axis=1)[:, :3]
    np.put_along_axis(labels, top, 1.0, axis=1)
    mask = np.ones((users, length), bool)
    n_rel = labels.sum(1).astype(int)
    fit, held = slice(0, 450), slice(450, None)
    ranker, report = ranking.train_list_ranker(x[fit], labels[fit], mask[fit], ["a", "b", "c", "d"],
                                               n_relevant=n_rel[fit], hidden=32, epochs=15, batch_size=32,
                                               learning_rate=0.01, l2=0.0, seed=0, threads=1, k=5)
    learned = ranking.ndcg_of_scores(ranker.score(x[held]), labels[held], mask[held], n_rel[held], 5)
    shuffled = ranking.ndcg_of_scores(rng.random((users - 450, length)), labels[held], mask[held], n_rel[held], 5)
    best_single = max(ranking.ndcg_of_scores(x[held][..., j], labels[held], mask[held], n_rel[held], 5)
                      for j in range(4))
    assert report["holdout_ndcg"] > 0
    assert learned > shuffled + 0.3
    assert learned > best_single + 0.05


def test_ranker_round_trips_through_the_file_the_train_step_writes(tmp_path):
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (4,), (4, 2), (2,), (2, 1), (1,), (3, 1), (1,)]
    ranker = ranking.ListRanker([rng.normal(size=s).astype("float32") for s in shapes],
                                rng.normal(size=3).astype("float32"), rng.uniform(0.5, 2, 3).astype("float32"),
                                ["a", "b", "c"])
    ranker.save(tmp_path / "ranker0.npz")
    loaded = ranking.ListRanker.load(tmp_path / "ranker0.npz")
    x = rng.normal(size=(5, 7, 3)).astype("float32")
    assert loaded.names == ["a", "b", "c"]
    assert np.allclose(loaded.score(x), ranker.score(x))
