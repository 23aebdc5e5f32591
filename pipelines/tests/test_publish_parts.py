"""Each pipeline publishes its own part (issue 14): a user -> anime run alone refreshes the users' lists, an
anime -> anime run alone the similar lists; a version always carries the other pipeline's latest promoted run."""

from __future__ import annotations

import json

import pytest

from animerec.common import db
from animerec.devkit import published
from animerec.devkit.fixtures import migrated_database
from animerec.pipelines import publish

pytestmark = pytest.mark.integration

PREFIX = "animerec-parts:"


@pytest.fixture()
def models_db():
    with migrated_database("parts") as url:
        with db.connect(url) as conn:
            conn.execute("""INSERT INTO processed.anime (anime_id, anime_url, title) VALUES
                            (1, 'https://myanimelist.net/anime/1', 'A'), (2, 'https://myanimelist.net/anime/2', 'B'),
                            (3, 'https://myanimelist.net/anime/3', 'C')""")
            conn.execute("""INSERT INTO processed."user" (user_id, user_name, user_url)
                            VALUES (7, 'ann', 'https://myanimelist.net/profile/ann')""")
            conn.execute("INSERT INTO processed.user_anime (user_id, anime_id, score, status) "
                         "VALUES (7, 1, 9, 'completed')")
            conn.commit()
        yield url


def _run(url: str, pipeline: str, run_id: str, promoted: bool, rows: list[tuple[int, int, int]]) -> None:
    table = "models.user_recommendations" if pipeline == "user_anime" else "models.similar_anime"
    with db.connect(url) as conn:
        conn.execute("INSERT INTO models.runs (run_id, pipeline, model, promoted, decision, metrics, report) "
                     "VALUES (%s, %s, 'm', %s, %s, %s, '')", (run_id, pipeline, promoted, json.dumps({}),
                                                               json.dumps({})))
        for a, rank, b in rows:
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, 1.0)", (run_id, a, rank, b))
        conn.commit()


def test_gather_publishes_one_pipeline_when_the_other_has_no_promoted_run(models_db):
    _run(models_db, "user_anime", "u1", True, [(7, 1, 2), (7, 2, 3)])
    _run(models_db, "anime_anime", "a0", False, [(1, 1, 2)])
    payload = publish.gather(models_db)
    assert payload.user_run == "u1" and payload.anime_run is None
    assert payload.user_recs == {"ann": [(2, 1.0), (3, 1.0)]} and payload.similar == {}


def test_gather_refuses_when_neither_pipeline_has_a_promoted_run(models_db):
    _run(models_db, "anime_anime", "a0", False, [(1, 1, 2)])
    with pytest.raises(publish.PublishError, match="either pipeline"):
        publish.gather(models_db)


def test_publish_run_refreshes_its_part_and_keeps_the_other(models_db, redis_url, monkeypatch):
    monkeypatch.setenv("ANIMEREC_POSTGRES_URL", models_db)
    monkeypatch.setenv("ANIMEREC_REDIS_URL", redis_url)
    monkeypatch.setenv("ANIMEREC_REDIS_PREFIX", PREFIX)

    async def served(view):
        recs = await view.user_recs("ann")
        return view.version, [a for a, _ in await view.similar(1) or ()], [r.anime_id for r in recs or ()]

    _run(models_db, "anime_anime", "a1", True, [(1, 1, 2)])
    first = publish.publish_run("anime_anime", "a1", grace_seconds=0)
    assert published.read_live(redis_url, PREFIX, served) == (first, [2], [])
    _run(models_db, "user_anime", "u1", True, [(7, 1, 2), (7, 2, 3)])
    second = publish.publish_run("user_anime", "u1", grace_seconds=0)
    version, similar, recs = published.read_live(redis_url, PREFIX, served)
    assert version == second != first and recs == [2, 3]
    assert similar == [2], "the similar lists of the promoted anime run are kept"
    with pytest.raises(publish.PublishError, match="no anime_anime run 'u1'"):
        publish.publish_run("anime_anime", "u1")

