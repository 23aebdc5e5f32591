"""The data dashboard's SQL runs on a migrated PostgreSQL and answers correctly on a small world."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from animerec.common import db
from animerec.devkit.fixtures import migrated_database
from deploy import dashboards

pytestmark = [pytest.mark.deploy, pytest.mark.integration]


def grafana_to_sql(query: str) -> str:
    """Expand the two Grafana placeholders the queries use, as Grafana would for a 30-day range."""
    query = re.sub(r"\$__timeFilter\((\w+)\)", r"\1 > now() - interval '30 days'", query)
    return query.replace("$min_votes", "100")


@pytest.fixture()
def world_url():
    with migrated_database("dash") as url:
        with db.connect(url) as conn:
            conn.execute("""
            INSERT INTO processed.anime (anime_id, anime_url, title, genres, score, score_count, members_count, type)
            VALUES (1, 'https://myanimelist.net/anime/1', 'Cowboy Bebop', '{Action,Sci-Fi}', 8.75, 900000, 1800000,
                'TV'),
               (5, 'https://myanimelist.net/anime/5', 'Bebop Movie', '{Action}', 8.38, 200000, 370000, 'Movie'),
               (6, 'https://myanimelist.net/anime/6', 'Trigun', '{Action,Sci-Fi,Adventure}', 8.22, 50, 700000, 'TV')
            """)
            conn.execute("""
            INSERT INTO processed."user" (user_id, user_name, user_url)
            VALUES (1, 'ann', 'https://myanimelist.net/profile/ann'), (2, 'bob', 'https://myanimelist.net/profile/bob')
            """)
            conn.execute("""
            INSERT INTO processed.user_anime (user_id, anime_id, score, status)
            VALUES (1, 1, 10, 'completed'), (2, 1, 8, 'completed'), (1, 6, NULL, 'plan_to_watch'), (2, 5, 8, 'dropped')
            """)
            # Anime 9 is on a list but not catalogued yet.
            conn.execute("""
                INSERT INTO processed.user_anime (user_id, anime_id, score, status, last_interaction_date)
                VALUES (2, 9, NULL, 'watching', now() - interval '1 day')
            """)
            conn.execute("UPDATE processed.user_anime SET last_interaction_date = now() - interval '2 days' "
                         "WHERE user_id = 1 AND anime_id = 1")
            conn.execute("""
                INSERT INTO anime_schedule (url, last_crawled_date, error_count) VALUES
                  ('https://myanimelist.net/anime/1', now() - interval '1 day', 0),
                  ('https://myanimelist.net/anime/5', NULL, 2),
                  ('https://myanimelist.net/anime/6', now() - interval '2 days', 0)
            """)
            conn.commit()
        yield url


def run(url: str, name: str) -> list[tuple]:
    with db.connect(url) as conn:
        return conn.execute(grafana_to_sql(dashboards.DATA_QUERIES[name])).fetchall()


def test_every_panel_query_runs(world_url):
    for name in dashboards.DATA_QUERIES:
        run(world_url, name)


def test_queries_answer_the_small_world(world_url):
    assert run(world_url, "anime") == [(3,)]
    assert run(world_url, "users") == [(2,)]
    # Trigun has fewer votes than the minimum, so it is not ranked by score.
    assert [r[0] for r in run(world_url, "top_score")] == ["Cowboy Bebop", "Bebop Movie"]
    assert [(r[0], r[1]) for r in run(world_url, "top_completed")] == [("Cowboy Bebop", 2)]
    assert run(world_url, "genres")[:2] == [("Action", 3), ("Sci-Fi", 2)]
    scores = dict(run(world_url, "score_distribution"))
    assert len(scores) == 10 and scores["8"] == 2 and scores["10"] == 1 and scores["1"] == 0
    coverage = {r[0]: r[1:] for r in run(world_url, "coverage")}
    assert coverage["anime"] == (4, 3, Decimal("75.0")), "anime 9 is on a list but not catalogued"
    assert coverage["user lists"] == (2, 2, Decimal("100.0"))
    assert sum(r[2] for r in run(world_url, "list_updates_per_day")) == 2


def test_data_queries_read_only_the_processed_schema():
    """The datasource's user reads the processed schema only (issue 14: two panels read the schedule tables)."""
    for name, query in dashboards.DATA_QUERIES.items():
        tables = re.findall(r"\b(?:FROM|JOIN)\s+([\w.\"]+)", query)
        assert tables and all(t.startswith("processed.") or t == "generate_series" for t in tables), (name, tables)


def test_dashboard_json_uses_these_queries():
    data = json.loads((dashboards.OUT / "data.json").read_text())
    sql = [t["rawSql"] for p in data["panels"] for t in p.get("targets", [])]
    assert sorted(sql) == sorted(dashboards.DATA_QUERIES.values())
    assert all(t["datasource"]["uid"] == "__POSTGRES_UID__" for p in data["panels"] for t in p.get("targets", []))
