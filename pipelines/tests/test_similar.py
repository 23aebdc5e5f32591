"""Similar anime on small data with known answers: the anchor protocol's masking, the blend's candidates and its
tuning (never below its starting baseline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from animerec.pipelines import anime_anime, similar, synthetic, user_anime
from animerec.pipelines.settings import from_params


def _side(n: int, genres: sp.csr_matrix | None = None) -> similar.Side:
    g = genres if genres is not None else sp.csr_matrix((n, 1), dtype="float32")
    dense = g.toarray().astype("float32")
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return similar.Side(genres=dense / np.maximum(norms, 1e-9), franchise=sp.csr_matrix((n, n), dtype="float32"))


def _pairs_world(n_users=400, seed=0):
    """Items 0..9 come in pairs (2i, 2i+1) watched together; item 10 is watched by everyone."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for p in rng.choice(5, size=2, replace=False):
            rows += [(u, 2 * p), (u, 2 * p + 1)]
        rows.append((u, 10))
    r, c = np.array(rows).T
    return sp.csr_matrix((np.ones(len(r), "float32"), (r, c)), shape=(n_users, 12))


def test_anchor_protocol_skips_the_anchor_and_the_history():
    x = _pairs_world()
    fitted = similar.fit(x, _side(12), {"co_occurrence": {}})
    plan = similar.Plan(users=np.array([0, 1]), anchors=np.array([0, 2]),
                        seen=sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 10])), shape=(x.shape[0], 12)),
                        relevant=sp.csr_matrix(([1.0, 1.0], ([0, 1], [10, 3])), shape=(x.shape[0], 12)))
    lists = similar.top_lists(fitted.scorer("co_occurrence"), plan, 3)
    assert 0 not in lists[0] and 1 not in lists[0]  # anchor and seen partner skipped
    assert lists[1][0] == 3 and 10 not in lists[1]  # the partner first, the seen popular one skipped


def test_blend_candidates_are_unseen_and_tuning_never_loses_to_its_start():
    x = _pairs_world()
    side = _side(12)
    fitted = similar.fit(x, side, {"co_occurrence": {}, "item_knn": {"neighbours": 20, "shrinkage": 0.0}})
    users = np.arange(50)
    anchors = np.array([2 * (u % 5) for u in users])
    seen = sp.csr_matrix((np.ones(50), (users, np.full(50, 10))), shape=(x.shape[0], 12))
    relevant = sp.csr_matrix((np.ones(50), (users, anchors + 1)), shape=(x.shape[0], 12))
    plan = similar.Plan(users, anchors, seen, relevant)
    lists = similar.plan_lists(fitted, plan, depth=5, size=8)
    assert not np.isin(lists.items, [10]).any()
    assert not (lists.items == anchors[:, None]).any()
    start = {"popularity": 1.0}
    w0 = np.array([start.get(n, 0.0) for n in similar.FEATURES])
    before = similar.evaluate_lists(lists, w0, plan, 3)["ndcg@3"]
    weights, after = similar.tune_weights(lists, plan, 3, start)
    assert after >= before
    assert after == 1.0 and (weights.get("co_occurrence", 0) or weights.get("item_knn", 0))


def test_side_round_trips(tmp_path):
    side = _side(5, sp.csr_matrix(np.eye(5, 3, dtype="float32")))
    side.franchise = sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), shape=(5, 5))
    side.text = np.ones((5, 4), "float32")
    side.save(tmp_path / "side.npz")
    back = similar.Side.load(tmp_path / "side.npz")
    assert (back.franchise != side.franchise).nnz == 0 and back.recommenders is None
    assert np.array_equal(back.text, side.text) and np.array_equal(back.genres, side.genres)


def test_run_tunes_every_baseline_and_the_blend_then_publishes_the_chosen_model():
    world = synthetic.world(200, 60, mean_interactions=12, seed=5)
    s = from_params({"tune_trials": 2, "k": 10, "similar_candidates": 30, "similar_depth": 10,
                     "similar_synopsis": False})
    ctx = anime_anime.Context(world, user_anime.make_splits(world, s), s)
    side = anime_anime.build_side(world, ctx.index, s)
    out = anime_anime.run(ctx, side)
    assert set(out.results) == {*similar.BASELINES, similar.BLEND}
    for figures in out.results.values():
        assert 0 <= figures["ndcg@10"] <= 1 and 0 <= figures["val_ndcg@10"] <= 1
    best = max(similar.BASELINES, key=lambda n: out.results[n]["val_ndcg@10"])
    assert out.results["blend"]["val_ndcg@10"] >= out.results[best]["val_ndcg@10"] - 1e-9
    for model in ("blend", best):
        lists = anime_anime.publish_lists(ctx, side, model, out.params, out.weights, 5)
        assert isinstance(lists, pd.DataFrame) and len(lists)
        assert (lists["anime_id"] != lists["similar_id"]).all()
        assert lists.groupby("anime_id")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()


def test_evaluate_similar_prints_every_baseline_the_blend_and_the_choice(tmp_path):
    import json

    from click.testing import CliRunner

    from animerec.common.cli import main
    world = synthetic.world(150, 50, mean_interactions=10, seed=7)
    anime = world.anime.assign(genre=world.anime["genres"].map(", ".join))
    anime.rename(columns={"title": "name"})[["anime_id", "name", "genre", "type"]].to_csv(tmp_path / "a.csv",
                                                                                            index=False)
    inter = world.interactions
    inter.assign(rating=inter["score"].fillna(-1).astype(int))[["user_id", "anime_id", "rating"]].to_csv(
        tmp_path / "r.csv", index=False)
    args = ["evaluate", "--similar", "--ratings", str(tmp_path / "r.csv"), "--anime", str(tmp_path / "a.csv"),
            "--k", "10", "--format", "json", "--param", "tune_trials=2", "--param", "similar_candidates=30",
            "--param", "similar_depth=10"]
    result = CliRunner().invoke(main, args, env={"ANIMEREC_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    rows = {r["model"]: r for r in out["results"]}
    assert set(rows) == {*similar.BASELINES, similar.BLEND}
    assert {m for m, r in rows.items() if r["baseline"]} == set(similar.BASELINES)
    assert out["decision"]["model"] in rows and "val_ndcg@10" in rows["blend"]
