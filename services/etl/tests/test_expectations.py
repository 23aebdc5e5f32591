"""Every expectation of every staging suite catches a defect planted for it.

Defects are planted in rounds (to keep the number of Great Expectations runs small); in each round the
failed expectations must be exactly those the round's defects aim at, so each defect is caught by its
own expectation and disturbs no other.
"""

import pytest

from animerec.common import db
from animerec.devkit import eventworld as world
from animerec.etl import runner, suites
from animerec.etl.settings import EtlSettings

from .conftest import land

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TABLES = ("anime", '"user"', "user_anime", "anime_anime", "user_user")


def ua_where(cond, k):
    """The k-th user_anime row (joined with its anime as `a`) matching cond, as a WHERE clause."""
    return f"(user_id, anime_id) IN (SELECT t.user_id, t.anime_id FROM staging.user_anime t JOIN staging.anime a " \
           f"USING (anime_id) WHERE {cond} ORDER BY 1, 2 OFFSET {k} LIMIT 1)"


FINISHED = "a.status = 'Finished Airing' AND t.status <> 'plan_to_watch'"
AA = "(anime_a, anime_b) IN (SELECT anime_a, anime_b FROM staging.anime_anime WHERE {} ORDER BY 1, 2 OFFSET {} LIMIT 1)"
UU = "(user_a, user_b) IN (SELECT user_a, user_b FROM staging.user_user ORDER BY 1, 2 OFFSET {} LIMIT 1)"
U = "user_id = (SELECT user_id FROM staging.\"user\" ORDER BY 1 OFFSET {} LIMIT 1)"

# (suite, expectation it aims at, SQL, other expectations it necessarily breaks too)
DEFECTS = [
    ("anime", "anime_id_not_null",
     "INSERT INTO staging.anime (anime_id, anime_url, title) VALUES (NULL, 'u', 'x')", ()),
    ("anime", "anime_id_unique", "INSERT INTO staging.anime SELECT * FROM staging.anime WHERE anime_id = 2", ()),
    ("anime", "anime_id_positive", "INSERT INTO staging.anime (anime_id, anime_url, title) VALUES (-3, 'u', 'x')", ()),
    ("anime", "title_not_null", "UPDATE staging.anime SET title = NULL WHERE anime_id = 4", ()),
    ("anime", "anime_url_not_null", "UPDATE staging.anime SET anime_url = NULL WHERE anime_id = 5", ()),
    ("anime", "num_episodes_range", "UPDATE staging.anime SET num_episodes = 20000 WHERE anime_id = 6", ()),
    ("anime", "score_range", "UPDATE staging.anime SET score = 11 WHERE anime_id = 8", ()),
    ("anime", "airing_status_allowed", "UPDATE staging.anime SET status = 'Cancelled' WHERE anime_id = 9", ()),
    ("anime", "members_count_non_negative", "UPDATE staging.anime SET members_count = -1 WHERE anime_id = 10", ()),
    ("anime", "studios_not_null", "UPDATE staging.anime SET studios = NULL WHERE anime_id = 12", ()),
    ("anime", "genres_not_null", "UPDATE staging.anime SET genres = NULL WHERE anime_id = 13", ()),
    ("user", "user_id_not_null",
     "INSERT INTO staging.\"user\" (user_id, user_name, user_url) VALUES (NULL, 'ghost_a', 'u')", ()),
    ("user", "user_id_unique", "INSERT INTO staging.\"user\" SELECT * FROM staging.\"user\" WHERE " + U.format(1),
     ("user_name_unique",)),
    ("user", "user_name_not_null", "UPDATE staging.\"user\" SET user_name = NULL WHERE " + U.format(2), ()),
    ("user", "user_name_unique", "INSERT INTO staging.\"user\" (user_id, user_name, user_url) "
     "SELECT user_id + 100000, user_name, user_url FROM staging.\"user\" WHERE " + U.format(3), ("user_id_stable",)),
    ("user", "user_name_normalised", "UPDATE staging.\"user\" SET user_name = upper(user_name) WHERE " + U.format(4),
     ("user_id_stable",)),
    ("user", "user_url_not_null", "UPDATE staging.\"user\" SET user_url = NULL WHERE " + U.format(5), ()),
    ("user", "mean_score_range", "UPDATE staging.\"user\" SET mean_score = 10.5 WHERE " + U.format(6), ()),
    ("user", "num_completed_non_negative",
     "UPDATE staging.\"user\" SET num_completed = -1 WHERE " + U.format(7), ()),
    ("user", "user_id_stable",  # two users swap ids: every reference still resolves, but not to the stable id
     "UPDATE staging.\"user\" u SET user_id = CASE WHEN u.user_id = x.a THEN x.b ELSE x.a END "
     "FROM (SELECT min(user_id) AS a, max(user_id) AS b FROM (SELECT user_id FROM staging.\"user\" ORDER BY 1 "
     "OFFSET 8 LIMIT 2) s) x WHERE u.user_id IN (x.a, x.b)", ()),
    ("user_anime", "user_id_not_null",
     "INSERT INTO staging.user_anime (user_id, anime_id, status) VALUES (NULL, 1, 'watching')", ()),
    ("user_anime", "anime_id_not_null", "INSERT INTO staging.user_anime (user_id, anime_id, status) "
     "SELECT min(user_id), NULL, 'watching' FROM staging.\"user\"", ()),
    ("user_anime", "user_anime_pair_unique",
     "INSERT INTO staging.user_anime SELECT * FROM staging.user_anime WHERE " + ua_where(FINISHED, 0), ()),
    ("user_anime", "user_known", "INSERT INTO staging.user_anime (user_id, anime_id, status) "
     "VALUES (999999, 1, 'watching')", ()),
    ("user_anime", "anime_known", "INSERT INTO staging.user_anime (user_id, anime_id, status) "
     "SELECT min(user_id), 999999, 'watching' FROM staging.\"user\"", ()),
    ("user_anime", "status_not_null", "UPDATE staging.user_anime SET status = NULL WHERE " + ua_where(FINISHED, 1), ()),
    ("user_anime", "status_allowed", "UPDATE staging.user_anime SET status = 'binged' WHERE " + ua_where(FINISHED, 2),
     ()),
    ("user_anime", "score_range", "UPDATE staging.user_anime SET score = 11 WHERE " + ua_where(FINISHED, 3), ()),
    ("user_anime", "progress_non_negative",
     "UPDATE staging.user_anime SET progress = -1 WHERE " + ua_where(FINISHED, 4), ()),
    ("user_anime", "favorite_not_null",
     "UPDATE staging.user_anime SET favorite = NULL WHERE " + ua_where(FINISHED, 5), ()),
    ("user_anime", "review_score_range",
     "UPDATE staging.user_anime SET review_score = 11 WHERE " + ua_where(FINISHED, 6), ()),
    ("user_anime", "progress_within_episodes",
     "UPDATE staging.user_anime SET progress = 9999 WHERE " + ua_where(FINISHED, 7), ()),
    ("user_anime", "no_completed_while_airing", "UPDATE staging.user_anime SET status = 'completed' WHERE "
     + ua_where("a.status = 'Currently Airing'", 0), ()),
    ("user_anime", "not_yet_aired_only_planned", "UPDATE staging.user_anime SET status = 'watching' WHERE "
     + ua_where("a.status = 'Not yet aired'", 0), ()),
    ("user_anime", "plan_to_watch_consistent", "UPDATE staging.user_anime SET status = 'plan_to_watch', score = 5 "
     "WHERE " + ua_where(FINISHED, 8), ()),
    ("anime_anime", "anime_a_not_null", "INSERT INTO staging.anime_anime (anime_a, anime_b, recommendation) "
     "VALUES (NULL, 1, true)", ()),
    ("anime_anime", "anime_b_not_null", "INSERT INTO staging.anime_anime (anime_a, anime_b, recommendation) "
     "VALUES (1, NULL, true)", ()),
    ("anime_anime", "anime_pair_unique", "INSERT INTO staging.anime_anime SELECT * FROM staging.anime_anime WHERE "
     + AA.format("true", 0), ()),
    ("anime_anime", "no_self_pairs", "INSERT INTO staging.anime_anime (anime_a, anime_b, recommendation) "
     "VALUES (7, 7, true)", ()),
    ("anime_anime", "anime_a_known", "INSERT INTO staging.anime_anime (anime_a, anime_b, recommendation) "
     "VALUES (99999, 1, true), (1, 99999, true)", ("anime_b_known",)),
    ("anime_anime", "anime_b_known", "INSERT INTO staging.anime_anime (anime_a, anime_b, related, relation_type) "
     "VALUES (2, 88888, true, 'sequel'), (88888, 2, true, 'prequel')", ("anime_a_known",)),
    ("anime_anime", "recommendations_symmetric", "DELETE FROM staging.anime_anime WHERE " + AA.format("true", 1), ()),
    ("anime_anime", "relation_type_allowed", "UPDATE staging.anime_anime SET relation_type = 'made_up' WHERE "
     + AA.format("related", 2), ()),
    ("anime_anime", "num_recommenders_non_negative", "UPDATE staging.anime_anime SET num_recommenders = -1 WHERE "
     + AA.format("recommendation", 3), ()),
    ("anime_anime", "pair_has_a_reason", "UPDATE staging.anime_anime SET recommendation = false, related = false "
     "WHERE " + AA.format("true", 4), ()),
    ("user_user", "user_a_not_null", "INSERT INTO staging.user_user (user_a, user_b) "
     "SELECT NULL, min(user_id) FROM staging.\"user\"", ()),
    ("user_user", "user_b_not_null", "INSERT INTO staging.user_user (user_a, user_b) "
     "SELECT min(user_id), NULL FROM staging.\"user\"", ()),
    ("user_user", "user_pair_unique", "INSERT INTO staging.user_user SELECT * FROM staging.user_user WHERE "
     + UU.format(0), ()),
    ("user_user", "no_self_friends", "INSERT INTO staging.user_user (user_a, user_b) "
     "SELECT min(user_id), min(user_id) FROM staging.\"user\"", ()),
    ("user_user", "user_a_known", "INSERT INTO staging.user_user (user_a, user_b) "
     "SELECT 999999, min(user_id) FROM staging.\"user\" UNION ALL SELECT min(user_id), 999999 FROM staging.\"user\"",
     ("user_b_known",)),
    ("user_user", "user_b_known", "INSERT INTO staging.user_user (user_a, user_b) "
     "SELECT 888888, max(user_id) FROM staging.\"user\" UNION ALL SELECT max(user_id), 888888 FROM staging.\"user\"",
     ("user_a_known",)),
    ("user_user", "friendships_symmetric", "DELETE FROM staging.user_user WHERE " + UU.format(3), ()),
]
ROUNDS = 3


@pytest.fixture(scope="module")
def clean_staging(module_db):
    land(module_db, [m for _, m in world.messages(world.EventWorld(anime=40, users=30, entries_per_user=10))])
    runner.transform(module_db, EtlSettings())
    with db.connect(module_db) as conn:
        conn.execute("CREATE SCHEMA snap")
        for t in TABLES:
            conn.execute(f"CREATE TABLE snap.{t} AS SELECT * FROM staging.{t}")
    return module_db


def restore(url):
    with db.connect(url) as conn:
        for t in TABLES:
            conn.execute(f"TRUNCATE staging.{t}; INSERT INTO staging.{t} SELECT * FROM snap.{t}")


def test_every_expectation_has_a_planted_defect():
    planted = {(suite, name) for suite, name, _, _ in DEFECTS}
    declared = {(suite, c.name) for suite, checks in suites.SUITES.items() for c in checks}
    assert declared == planted


def test_clean_staging_passes_every_suite(clean_staging):
    restore(clean_staging)
    result = suites.validate(clean_staging)
    assert result.success, result.summary()
    assert len(result.results) == len(DEFECTS)


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_planted_defects_fail_exactly_their_expectations(clean_staging, round_no):
    restore(clean_staging)
    expected = set()
    with db.connect(clean_staging) as conn:
        for suite, name, statement, also in DEFECTS[round_no::ROUNDS]:
            changed = conn.execute(statement).rowcount
            assert changed >= 1, f"defect for {suite}.{name} changed nothing: {statement}"
            expected |= {(suite, name), *((suite, other) for other in also)}
    result = suites.validate(clean_staging)
    failed = {(r.suite, r.name) for r in result.failures()}
    assert failed == expected, result.summary()
    assert not result.success and "FAIL" in result.summary()
