"""Dataset readers, `animerec import-dataset` into the processed tables and `animerec evaluate`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from animerec.common import db
from animerec.common.cli import main
from animerec.pipelines import data

SHARED = Path(os.environ.get("ANIMEREC_SHARED_DIR", Path(__file__).resolve().parents[2].parent / "shared"))
COOPER = SHARED / "datasets" / "cooperunion-anime-2016"
MAL2020 = SHARED / "datasets" / "mal-2020-samples"
needs_shared = pytest.mark.skipif(not COOPER.is_dir(), reason=f"shared datasets not found at {SHARED}")


@needs_shared
def test_reads_the_real_cooperunion_and_mal_2020_formats():
    anime = data.read_anime_csv(COOPER / "anime_enriched.csv")
    assert len(anime) == 12294 and anime["main_pic"].notna().any()
    assert "Kimi no Na wa." in set(anime["title"])
    assert all(isinstance(g, list) for g in anime["genres"])
    ratings = data.read_ratings_csv(COOPER / "ratings_sample_35k.csv")
    assert len(ratings) == 35000 and ratings["score"].between(1, 10).all()
    mal = data.read_ratings_csv(MAL2020 / "animelist.csv")
    assert set(mal["status"].dropna()) <= set(data.STATUSES) and mal["status"].notna().all()
    assert mal["score"].isna().any()  # rating 0 means unscored


def test_bad_files_get_clear_errors(tmp_path):
    (tmp_path / "a.csv").write_text("foo,bar\n1,2\n")
    with pytest.raises(data.DatasetError, match="not an anime catalogue"):
        data.read_anime_csv(tmp_path / "a.csv")
    with pytest.raises(data.DatasetError, match="not a ratings file"):
        data.read_ratings_csv(tmp_path / "a.csv")
    with pytest.raises(data.DatasetError, match="no such file"):
        data.read_ratings_csv(tmp_path / "missing.csv")


def _tiny_csvs(tmp_path, small_world):
    anime = small_world.anime.assign(genre=small_world.anime["genres"].map(", ".join))
    anime.rename(columns={"title": "name", "score": "rating", "num_episodes": "episodes"})[
        ["anime_id", "name", "genre", "type", "episodes", "rating", "members"]].to_csv(tmp_path / "anime.csv",
                                                                                        index=False)
    inter = small_world.interactions
    inter.assign(rating=inter["score"].fillna(-1).astype(int))[["user_id", "anime_id", "rating"]].to_csv(
        tmp_path / "ratings.csv", index=False)
    return tmp_path / "ratings.csv", tmp_path / "anime.csv"


@pytest.mark.integration
def test_import_dataset_loads_the_processed_tables(pg_url, tmp_path, small_world):
    ratings, anime = _tiny_csvs(tmp_path, small_world)
    url = db.with_database(pg_url, "animerec_import_" + os.urandom(4).hex())
    db.ensure_database(url)
    try:
        from animerec.common import migrate
        migrate.apply(url)
        env = {"ANIMEREC_POSTGRES_URL": url}
        for _ in range(2):  # idempotent: upserts
            result = CliRunner().invoke(main, ["import-dataset", "--ratings", str(ratings), "--anime", str(anime)],
                                        env=env)
            assert result.exit_code == 0, result.output
        world = data.world_from_postgres(url)
        with db.connect(url) as conn:
            names = {n for (n,) in conn.execute('SELECT user_name FROM processed."user"')}
            mapped = conn.execute("SELECT count(*) FROM staging.user_ids").fetchone()[0]
        assert len(world.anime) == len(small_world.anime)
        assert len(world.interactions) == len(small_world.interactions)
        assert names == {f"user{u}" for u in small_world.interactions["user_id"].unique()} and mapped == len(names)
        assert world.interactions["score"].isna().sum() == small_world.interactions["score"].isna().sum()
    finally:
        db.drop_database(url)


@pytest.mark.integration
def test_training_reads_verified_feedback_likes_as_positives_dislikes_as_negatives(pg_url, small_world):
    url = db.with_database(pg_url, "animerec_feedback_" + os.urandom(4).hex())
    db.ensure_database(url)
    try:
        from animerec.common import migrate
        migrate.apply(url)
        data.store_world(url, small_world)
        inter = small_world.interactions
        user = int(inter["user_id"].iloc[0])
        seen = inter.loc[(inter["user_id"] == user) & (inter["status"] != "dropped"), "anime_id"].astype(int).tolist()
        listed_ids = inter.loc[inter["user_id"] == user, "anime_id"]
        unseen = int(small_world.anime.loc[~small_world.anime["anime_id"].isin(listed_ids), "anime_id"].iloc[0])
        rows = [("e1", seen[0], "dislike", True, "2026-02-01"), ("e2", unseen, "like", True, "2026-02-01"),
                ("e3", seen[1], "like", True, "2026-02-01"), ("e4", seen[1], "dislike", True, "2026-02-02"),
                ("e5", seen[2], "dislike", False, "2026-02-03")]  # unverified (no token): never trains
        with db.connect(url) as conn:
            for event_id, anime_id, action, verified, at in rows:
                conn.execute("INSERT INTO processed.feedback (event_id, user_name, anime_id, action, verified, "
                             "source, created_at) VALUES (%s, %s, %s, %s, %s, 'model', %s)",
                             (event_id, f"user{user}", anime_id, action, verified, at))
            conn.commit()
            (uid,) = conn.execute('SELECT user_id FROM processed."user" WHERE user_name = %s',
                                  (f"user{user}",)).fetchone()
            (doc,) = conn.execute("SELECT obj_description('processed.feedback'::regclass)").fetchone()
        assert "Training reads it" in doc  # the data dictionary says so
        got = data.world_from_postgres(url).interactions.set_index(["user_id", "anime_id"])
        assert not got.index.duplicated().any()
        assert got.loc[(uid, seen[0]), ["score", "status"]].tolist() == [1.0, "dropped"]
        assert got.loc[(uid, unseen), ["score", "status"]].tolist() == [10.0, "completed"]
        assert got.loc[(uid, seen[1]), "score"] == 1.0  # the latest feedback wins
        listed = inter.set_index(["user_id", "anime_id"]).loc[(user, seen[2]), "status"]
        assert got.loc[(uid, seen[2]), "status"] == listed
        assert len(got) == len(inter) + 1
    finally:
        db.drop_database(url)


@pytest.mark.slow
def test_evaluate_prints_every_model_and_baseline_as_json(tmp_path, small_world):
    ratings, anime = _tiny_csvs(tmp_path, small_world)
    tiny = ["epochs=2", "embedding_dim=8", "candidates=40", "popular_candidates=10", "ranking_epochs=3",
            "ranking_list_size=16", "tf_threads=1", "tune_trials=3"]
    args = ["evaluate", "--ratings", str(ratings), "--anime", str(anime), "--k", "10", "--format", "json"]
    for p in tiny:
        args += ["--param", p]
    result = CliRunner().invoke(main, args, env={"ANIMEREC_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    out = json.loads(result.output[result.output.index("{"):])
    by_model = {r["model"]: r for r in out["results"]}
    baselines = {"popularity", "item_knn", "ease", "rp3beta", "als"}
    assert set(by_model) >= baselines | {"retrieval"} and len(by_model) > len(baselines) + 1  # + the learned ones
    assert {m for m, r in by_model.items() if r["baseline"]} == baselines
    for r in out["results"]:
        for metric in ("recall@10", "ndcg@10", "map@10", "coverage@10", "top1_share"):
            assert 0.0 <= r[metric] <= 1.0
        assert 0.0 <= r["popularity_pct@10"] <= 100.0 and r["distinct_share@10"] > 0
    for name in baselines - {"popularity"}:
        assert by_model[name]["params"] and 0.0 < by_model[name]["val_ndcg@10"] <= 1.0
    # The generated world has taste clusters: the collaborative baselines must beat popularity.
    assert by_model["ease"]["ndcg@10"] > by_model["popularity"]["ndcg@10"]
    # What gets published is never a model below the best tuned baseline on validation.
    d = out["decision"]
    best = max(baselines, key=lambda n: by_model[n]["val_ndcg@10"])
    assert d["baseline"] == best
    assert d["model"] == best or (d["promoted"] and by_model[d["model"]]["val_ndcg@10"] > by_model[best]["val_ndcg@10"])


def test_evaluate_rejects_unknown_params(tmp_path):
    (tmp_path / "r.csv").write_text("user_id,anime_id,rating\n1,1,5\n")
    (tmp_path / "a.csv").write_text("anime_id,name\n1,x\n")
    result = CliRunner().invoke(main, ["evaluate", "--ratings", str(tmp_path / "r.csv"), "--anime",
                                       str(tmp_path / "a.csv"), "--param", "nonsense=1"])
    assert result.exit_code != 0 and "nonsense" in result.output


def test_synthetic_world_is_consistent(small_world):
    assert small_world.interactions["anime_id"].isin(small_world.anime["anime_id"]).all()
    assert not small_world.interactions.duplicated(["user_id", "anime_id"]).any()
    assert isinstance(small_world.pairs, pd.DataFrame) and len(small_world.pairs) > 0
