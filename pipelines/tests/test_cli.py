"""`animerec import-dataset | evaluate | tune | recommend`: the processed tables loaded, every model and baseline
as JSON, `recommend` on a small generated world (every user's top k, nothing already in their rows) and bad
ratings files (a clear message, never a traceback)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from animerec.common import db
from animerec.common.cli import main
from animerec.devkit.fixtures import migrated_database
from animerec.pipelines import data


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
def test_import_dataset_loads_the_processed_tables(tmp_path, small_world):
    ratings, anime = _tiny_csvs(tmp_path, small_world)
    with migrated_database("import") as url:
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


@pytest.mark.slow
def test_evaluate_prints_every_model_and_baseline_as_json(tmp_path, small_world):
    ratings, anime = _tiny_csvs(tmp_path, small_world)
    tiny = ["epochs=2", "embedding_dim=8", "candidates=40", "popular_candidates=10", "tf_threads=1",
            "tune_trials=3"]
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


CATALOGUE = "anime_id,name,genre,type\n" + "".join(f"{i},Anime {i},Action,TV\n" for i in range(1, 31))


def run(tmp_path, ratings: str, command: str = "tune", *extra: str):
    (tmp_path / "r.csv").write_text(ratings)
    (tmp_path / "a.csv").write_text(CATALOGUE)
    args = [command, "--ratings", str(tmp_path / "r.csv"), "--anime", str(tmp_path / "a.csv"), *extra]
    if command == "recommend":
        args += ["--out", str(tmp_path / "out.csv")]
    return CliRunner().invoke(main, args, env={"ANIMEREC_LOG_LEVEL": "WARNING"})


def rows(pairs, rating=8):
    return "user_id,anime_id,rating\n" + "".join(f"{u},{a},{rating}\n" for u, a in pairs)


def assert_clean_failure(result, *phrases):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"traceback: {result.exception!r}"
    assert "Traceback" not in result.output
    for p in phrases:
        assert p in result.output, result.output


@pytest.mark.parametrize("command", ["evaluate", "tune", "recommend"])
def test_missing_columns(tmp_path, command):
    assert_clean_failure(run(tmp_path, "user,anime,rating\n1,2,8\n", command),
                         "not a ratings file", "missing column(s) user_id, anime_id")


def test_only_a_header(tmp_path):
    assert_clean_failure(run(tmp_path, "user_id,anime_id,rating\n"), "no rating rows")


def test_no_positives(tmp_path):
    low = rows([(u, a) for u in range(1, 6) for a in range(1, 6)], rating=2)
    assert_clean_failure(run(tmp_path, low), "no positive interaction", "scored >= 6")


def test_a_single_user(tmp_path):
    assert_clean_failure(run(tmp_path, rows([(7, a) for a in range(1, 20)])), "only 1 user has positive")


def test_anime_absent_from_the_catalogue(tmp_path):
    assert_clean_failure(run(tmp_path, rows([(u, 100 + a) for u in range(1, 5) for a in range(5)])),
                         "none of its 5 anime ids is in the catalogue")


def test_too_little_data_to_hold_out(tmp_path):
    # Two users, one rating each: nothing can be held out for evaluation.
    assert_clean_failure(run(tmp_path, rows([(1, 1), (2, 2)])), "held-out")


def test_duplicates_and_unknown_ids_are_counted_and_handled(tmp_path):
    pairs = [(u, a) for u in range(1, 41) for a in range(1 + u % 3, 16 + u % 3)]
    text = rows(pairs) + "1,2,9\n1,2,3\n" + "3,999,8\n4,998,8\n" + "x,5,8\n"
    (tmp_path / "r.csv").write_text(text)
    (tmp_path / "a.csv").write_text(CATALOGUE)
    world, report = data.load_csv_world(tmp_path / "r.csv", tmp_path / "a.csv")
    assert (report.bad_ids, report.duplicates, report.unknown_anime, report.unknown_anime_ids) == (1, 2, 2, 2)
    assert not world.interactions.duplicated(["user_id", "anime_id"]).any()
    # The last duplicate row wins: user 1 scored anime 2 with a 3.
    assert world.interactions.set_index(["user_id", "anime_id"]).loc[(1, 2), "score"] == 3
    result = run(tmp_path, text, "tune", "--param", "tune_trials=1")
    assert result.exit_code == 0, result.output
    for line in ("skipped 1 of", "merged 2 duplicate", "dropped 2 rows of 2 anime ids absent"):
        assert line in result.output


@pytest.mark.slow
def test_recommend_writes_every_users_top_k_without_anything_they_have(tmp_path, small_world):
    inter = small_world.interactions
    ratings = tmp_path / "ratings.csv"
    inter.assign(rating=inter["score"].fillna(-1).astype(int))[["user_id", "anime_id", "rating"]].to_csv(
        ratings, index=False)
    anime = tmp_path / "anime.csv"
    small_world.anime.assign(genre=small_world.anime["genres"].map(", ".join)).rename(columns={"title": "name"})[
        ["anime_id", "name", "genre", "type"]].to_csv(anime, index=False)
    out = tmp_path / "recs.csv"
    tiny = ["epochs=1", "embedding_dim=8", "candidates=40", "popular_candidates=10", "tf_threads=1",
            "tune_trials=2"]
    args = ["recommend", "--ratings", str(ratings), "--anime", str(anime), "--k", "7", "--out", str(out)]
    for p in tiny:
        args += ["--param", p]
    result = CliRunner().invoke(main, args, env={"ANIMEREC_LOG_LEVEL": "WARNING"})
    assert result.exit_code == 0, result.output
    recs = pd.read_csv(out)
    assert list(recs.columns) == ["user_id", "anime_id", "rank", "model"]
    assert recs["model"].nunique() == 1 and f"model {recs['model'][0]}" in result.output
    assert set(recs["user_id"]) == set(inter["user_id"])
    assert (recs.groupby("user_id")["rank"].apply(lambda r: sorted(r) == list(range(1, len(r) + 1)))).all()
    assert recs.groupby("user_id").size().max() == 7
    had = set(zip(inter["user_id"], inter["anime_id"], strict=True))
    assert not any((u, a) in had for u, a in zip(recs["user_id"], recs["anime_id"], strict=True))
    assert recs["anime_id"].isin(small_world.anime["anime_id"]).all()
