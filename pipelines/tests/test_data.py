"""Dataset readers, and the world training reads from the processed tables (verified feedback included)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from animerec.common import db
from animerec.devkit.fixtures import migrated_database
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


@pytest.mark.integration
def test_training_reads_verified_feedback_likes_as_positives_dislikes_as_negatives(small_world):
    with migrated_database("feedback") as url:
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
