import json

import psycopg
import pytest

from animerec.common import contracts, db, migrate

pytestmark = pytest.mark.integration

TABLES = {
    "public": {"anime_schedule", "profile_schedule", "schema_migrations"},
    "landing": set(contracts.ITEM_TYPES) | {"feedback", "rejects"},
    "staging": {"anime", "user", "user_anime", "anime_anime", "user_user", "user_ids"},
    "processed": {"anime", "user", "user_anime", "anime_anime", "user_user"},
}
SCHEDULE_COLUMNS = {"url", "last_scheduled_date", "scheduled_count", "last_crawled_date", "crawled_count",
                    "last_inspected_date", "inspected_count", "error_count", "last_error"}
PROCESSED_COLUMNS = {
    "anime": {"anime_id", "anime_url", "title", "synopsis", "main_pic", "type", "source_type", "num_episodes",
              "status", "start_date", "end_date", "season", "studios", "genres", "score", "score_count",
              "score_rank", "popularity_rank", "members_count", "favorites_count", "watching_count",
              "completed_count", "on_hold_count", "dropped_count", "plan_to_watch_count", "total_count",
              *(f"score_{i:02d}_count" for i in range(1, 11)), "clubs", "pics"},
    "user": {"user_id", "user_url", "last_online_date", "num_watching", "num_completed", "num_on_hold",
             "num_dropped", "num_plan_to_watch", "num_days", "mean_score", "clubs"},
    "user_anime": {"user_id", "anime_id", "favorite", "review_id", "review_date", "review_num_useful",
                   "review_score", "review_story_score", "review_animation_score", "review_sound_score",
                   "review_character_score", "review_enjoyment_score", "score", "status", "progress",
                   "last_interaction_date"},
    "anime_anime": {"anime_a", "anime_b", "recommendation", "recommendation_url", "num_recommenders", "related",
                    "relation_type"},
    "user_user": {"user_a", "user_b", "friends", "friendship_date"},
}


@pytest.fixture()
def fresh_db(pg_url):
    url = db.with_database(pg_url, db.database_name(pg_url) + "_m")
    db.ensure_database(url)
    yield url
    db.drop_database(url)


def columns(conn, schema, table):
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s",
                        (schema, table)).fetchall()
    return {r[0] for r in rows}


def test_apply_twice_creates_every_table_once(fresh_db):
    first = migrate.apply(fresh_db)
    assert [m.version for m in first] == [m.version for m in migrate.discover()]
    assert migrate.apply(fresh_db) == []
    with psycopg.connect(fresh_db) as conn:
        for schema, tables in TABLES.items():
            have = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (schema,))}
            assert tables <= have, (schema, tables - have)
        for table in ("anime_schedule", "profile_schedule"):
            assert SCHEDULE_COLUMNS <= columns(conn, "public", table)
        for area in ("staging", "processed"):
            for table, wanted in PROCESSED_COLUMNS.items():
                assert wanted <= columns(conn, area, table), (area, table, wanted - columns(conn, area, table))
        recorded = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert recorded == len(first)


def test_every_item_field_has_a_landing_column(pg_url):
    with psycopg.connect(pg_url) as conn:
        for name in contracts.ITEM_TYPES:
            fields = set(contracts.event_schemas()[name]["properties"]) - {"item_type"}
            have = columns(conn, "landing", name)
            assert fields <= have, (name, fields - have)
            assert {"kafka_topic", "kafka_partition", "kafka_offset"} <= have


def test_example_items_insert_into_landing(pg_url):
    """The landing columns accept the contract's own examples (types and checks agree)."""
    examples = contracts.schemas_dir() / "examples"
    with psycopg.connect(pg_url) as conn, conn.transaction(force_rollback=True):
        for name in contracts.ITEM_TYPES:
            msg = json.loads((examples / f"{name}.json").read_text())
            msg.pop("item_type")
            cols = ", ".join(msg)
            marks = ", ".join(["%s"] * len(msg))
            conn.execute(f"INSERT INTO landing.{name} ({cols}) VALUES ({marks})", list(msg.values()))


def test_edited_migration_is_refused(fresh_db, tmp_path):
    src = contracts.migrations_dir()
    for path in sorted(src.glob("*.sql"))[:1]:
        (tmp_path / path.name).write_text(path.read_text())
    migrate.apply(fresh_db, tmp_path)
    first = sorted(tmp_path.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.apply(fresh_db, tmp_path)


def test_badly_named_migration_is_refused(tmp_path):
    (tmp_path / "001-init.sql").write_text("SELECT 1;")
    with pytest.raises(migrate.MigrationError, match="must be named"):
        migrate.discover(tmp_path)
