"""Steps 1 and 2 on a hand-made world with one case per rule (no Great Expectations here)."""

import pytest

from animerec.etl import runner
from animerec.etl.settings import EtlSettings

from .conftest import land, rows

pytestmark = pytest.mark.integration

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-02-01T00:00:00Z"


def crawl(kind, at=T1, **fields):
    return {"item_type": kind, "crawled_at": at, "source": "mal", "source_url": "https://myanimelist.net/x", **fields}


def anime(anime_id, status="Finished Airing", episodes=12, at=T1, title=None):
    return crawl("anime_info", at, anime_id=anime_id, title=title or f"Anime {anime_id}", status=status,
                 num_episodes=episodes)


def entry(user, anime_id, status, at=T1, **fields):
    return crawl("animelist_entry", at, user_name=user, anime_id=anime_id, status=status, **fields)


def profile(user):
    return crawl("profile", user_name=user, private=False)


WORLD = [
    # The newer crawl of anime 1 lands first: the latest crawl wins by crawled_at, not by arrival.
    anime(1, title="New title"), anime(1, at=T0, title="Old title"),
    anime(2, status="Currently Airing", episodes=24), anime(3, status="Not yet aired", episodes=None),
    *[anime(i) for i in (10, 11, 12, 13, 14)],
    profile("Alice"), profile("bob"), profile("Carol"),
    entry("ALICE", 1, "completed", at=T0, score=9, progress=12),    # older crawl ...
    entry("Alice", 1, "watching", progress=5),                        # ... the latest wins
    entry("alice", 2, "completed", progress=24),                      # completed while airing: dropped
    entry("alice", 3, "watching"),                                    # not yet aired, not planned: dropped
    entry("bob", 3, "plan_to_watch", score=7),                        # not yet aired, planned: kept, score cleared
    entry("alice", 999, "completed"),                                 # unknown anime: dropped
    entry("ghost", 1, "completed"),                                   # unknown user (no profile): dropped
    entry("bob", 1, "plan_to_watch", progress=4),                     # -> watching
    entry("bob", 10, "plan_to_watch", progress=12),                   # -> completed
    entry("bob", 11, "plan_to_watch", score=8),                       # -> completed
    entry("bob", 2, "plan_to_watch"), crawl("favorite", user_name="bob", anime_id=2),  # airing -> watching
    entry("carol", 1, "watching", progress=50),                       # progress above 12 episodes: dropped
    crawl("favorite", user_name="carol", anime_id=10),
    crawl("activity", user_name="carol", anime_id=10, episode=3),     # no status: inferred watching
    crawl("activity", user_name="carol", anime_id=11, episode=12),    # no status: inferred completed
    crawl("favorite", user_name="carol", anime_id=12),                # no status, favorite: completed
    crawl("anime_review", review_id=5, anime_id=13, user_name="Carol", review_score=8),
    crawl("anime_recommendation", anime_id=1, recommended_anime_id=10, num_recommenders=4),
    crawl("anime_recommendation", anime_id=1, recommended_anime_id=999, num_recommenders=2),
    crawl("friend", user_name="alice", friend_name="Bob"), crawl("friend", user_name="alice", friend_name="ghost"),
    crawl("friend", user_name="carol", friend_name="CAROL"),
    *[crawl("anime_related", anime_id=a, related_anime_id=a + 1, relation_type="Sequel") for a in (10, 11, 12)],
    crawl("anime_related", anime_id=13, related_anime_id=14, relation_type="Side story"),
]


@pytest.fixture(scope="module")
def staged(module_db):
    land(module_db, WORLD)
    counts = runner.transform(module_db, EtlSettings(relation_depth=3))
    return module_db, counts


def user_anime(url):
    got = rows(url, 'SELECT u.user_name, ua.anime_id, ua.status, ua.progress, ua.score, ua.favorite '
                    'FROM staging.user_anime ua JOIN staging."user" u USING (user_id)')
    return {(r[0], r[1]): r[2:] for r in got}


def test_latest_crawl_wins_per_key(staged):
    url, _ = staged
    assert rows(url, "SELECT title FROM staging.anime WHERE anime_id = 1") == [("New title",)]
    assert user_anime(url)[("alice", 1)] == ("watching", 5, None, False)


def test_user_names_normalised_and_unknown_users_dropped(staged):
    url, _ = staged
    assert sorted(r[0] for r in rows(url, 'SELECT user_name FROM staging."user"')) == ["alice", "bob", "carol"]
    assert not [k for k in user_anime(url) if k[0] == "ghost"]


def test_unknown_anime_dropped(staged):
    url, _ = staged
    assert not [k for k in user_anime(url) if k[1] == 999]
    assert rows(url, "SELECT count(*) FROM staging.anime_anime WHERE 999 IN (anime_a, anime_b)") == [(0,)]


def test_completed_while_airing_dropped(staged):
    assert ("alice", 2) not in user_anime(staged[0])


def test_not_yet_aired_keeps_only_plan_to_watch(staged):
    got = user_anime(staged[0])
    assert ("alice", 3) not in got
    assert got[("bob", 3)] == ("plan_to_watch", None, None, False)


def test_plan_to_watch_corrected_to_implied_status(staged):
    got = user_anime(staged[0])
    assert got[("bob", 1)][:2] == ("watching", 4)
    assert got[("bob", 10)][:2] == ("completed", 12)
    assert got[("bob", 11)][0] == "completed"
    assert got[("bob", 2)] == ("watching", None, None, True)   # favorite of an airing anime


def test_progress_above_episode_count_dropped(staged):
    assert user_anime(staged[0])[("carol", 1)] == ("watching", None, None, False)


def test_missing_status_inferred(staged):
    got = user_anime(staged[0])
    assert got[("carol", 10)] == ("watching", 3, None, True)
    assert got[("carol", 11)] == ("completed", 12, None, False)
    assert got[("carol", 12)] == ("completed", None, None, True)
    assert got[("carol", 13)][0] == "plan_to_watch"             # only a review: nothing implies more
    assert rows(staged[0], "SELECT review_id, review_score FROM staging.user_anime WHERE review_id IS NOT NULL") \
        == [(5, 8)]


def test_rule_counts_reported(staged):
    rules = staged[1]["cleaning_rules"]
    assert rules["unknown_anime"] == 1 and rules["unknown_user"] == 1
    assert rules["completed_while_airing"] == 1 and rules["not_yet_aired_not_planned"] == 1
    assert rules["progress_dropped"] == 1
    assert rules["status_inferred"] == 4          # carol 10, 11, 12, 13
    assert rules["ptw_corrected"] == 5            # bob 1, 10, 11, 2; carol 12
    assert staged[1]["merge"]["staging.user_anime"] == len(user_anime(staged[0]))


def test_recommendations_and_friendships_symmetric(staged):
    url, _ = staged
    assert rows(url, "SELECT anime_a, anime_b, num_recommenders FROM staging.anime_anime WHERE recommendation "
                     "ORDER BY 1, 2") == [(1, 10, 4), (10, 1, 4)]
    friends = rows(url, 'SELECT a.user_name, b.user_name FROM staging.user_user f JOIN staging."user" a '
                        'ON a.user_id = f.user_a JOIN staging."user" b ON b.user_id = f.user_b ORDER BY 1, 2')
    assert friends == [("alice", "bob"), ("bob", "alice")]  # ghost unknown, carol-CAROL is herself


def test_related_expanded_along_chains_with_bounded_depth(staged):
    url, _ = staged
    got = dict(((a, b), t) for a, b, t in rows(url, "SELECT anime_a, anime_b, relation_type FROM staging.anime_anime "
                                                     "WHERE related"))
    assert got[(10, 11)] == "sequel" and got[(11, 10)] == "prequel"
    assert got[(10, 12)] == "sequel" and got[(10, 13)] == "sequel" and got[(13, 10)] == "prequel"
    assert got[(13, 14)] == "side_story" and got[(14, 13)] == "parent_story"
    assert got[(12, 14)] == "franchise"
    assert (10, 14) not in got            # four hops: beyond relation_depth=3


def test_deeper_relation_depth_reaches_further(etl_db):
    land(etl_db, WORLD)
    runner.transform(etl_db, EtlSettings(relation_depth=4))
    assert rows(etl_db, "SELECT relation_type FROM staging.anime_anime WHERE anime_a = 10 AND anime_b = 14") \
        == [("franchise",)]


def test_user_ids_are_stable_across_runs(staged):
    url, _ = staged
    before = dict(rows(url, "SELECT user_name, user_id FROM staging.user_ids"))
    land(url, [profile("aaron")], offset=10_000)
    runner.transform(url, EtlSettings())
    after = dict(rows(url, "SELECT user_name, user_id FROM staging.user_ids"))
    assert {k: after[k] for k in before} == before
    assert after["aaron"] > max(before.values())
    assert dict(rows(url, 'SELECT user_name, user_id FROM staging."user"')) == after
