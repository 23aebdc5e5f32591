"""`animerec publish` writes what the pipelines recorded to Redis, through the shared RecStore."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from animerec.common import config, db
from animerec.common.cli import main
from animerec.devkit import published

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _invoke(args, pg, redis_url):
    env = {"ANIMEREC_POSTGRES_URL": pg, "ANIMEREC_REDIS_URL": redis_url, "ANIMEREC_LOG_FORMAT": "text"}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_publish_writes_the_recorded_lists(world_db, pipeline_runs, redis_url):
    user_run = pipeline_runs["user_anime"][0].run_id
    anime_run = pipeline_runs["anime_anime"][0].run_id
    result = _invoke(["publish", "--user-run", user_run, "--anime-run", anime_run, "--list-length", "10"],
                     world_db, redis_url)
    assert result.exit_code == 0, result.output
    prefix = config.core({}).redis_prefix
    with db.connect(world_db) as conn:
        recs = conn.execute("""SELECT u.user_name, r.anime_id FROM models.user_recommendations r
                               JOIN processed."user" u USING (user_id) WHERE run_id = %s ORDER BY user_name, rank""",
                            (user_run,)).fetchall()
        similar = conn.execute("SELECT anime_id, similar_id FROM models.similar_anime WHERE run_id = %s "
                               "ORDER BY anime_id, rank", (anime_run,)).fetchall()
        n_anime = conn.execute("SELECT count(*) FROM processed.anime").fetchone()[0]
        listed = {(name, anime_id) for name, anime_id in conn.execute(
            """SELECT u.user_name, ua.anime_id FROM processed.user_anime ua JOIN processed."user" u USING (user_id)""")}
        planned = conn.execute("""SELECT count(*) FROM models.user_recommendations r JOIN processed.user_anime ua
                                  USING (user_id, anime_id) WHERE r.run_id = %s AND ua.status = 'plan_to_watch'""",
                               (user_run,)).fetchone()[0]
    assert planned, "the world should hold recommended plan_to_watch anime, or this test checks nothing about them"
    expected: dict[str, list[int]] = {}
    recorded: dict[str, list[int]] = {}
    for name, anime_id in recs:
        recorded.setdefault(name, []).append(anime_id)
        if (name, anime_id) not in listed:  # the pipeline kept plan_to_watch ones; what is served never does
            expected.setdefault(name, []).append(anime_id)
    first_anime = similar[0][0]

    async def served(view):
        lists = {name: await view.user_recs(name) for name in list(recorded)[:25]}
        return (lists, [a for a, _ in await view.similar(first_anime) or ()],
                await view.cards(list(range(1, n_anime + 1))), await view.lists())

    lists, similar_first, cards, (popular, trending) = published.read_live(redis_url, prefix, served)
    for name, recs in lists.items():
        assert recs is not None, f"{name} has a recorded list but none was published"
        got = [r.anime_id for r in recs]
        assert got == expected.get(name, [])
        assert not set(got) & {a for u, a in listed if u == name}
    assert similar_first == [s for a, s in similar if a == first_anime]
    assert len(cards) == n_anime
    # every card names its franchise; crawled relations put both anime in one
    assert all(isinstance(c["franchise"], int) and c["franchise"] <= a for a, c in cards.items())
    with db.connect(world_db) as conn:
        related = conn.execute("SELECT anime_a, anime_b FROM processed.anime_anime WHERE related").fetchall()
    assert related and all(cards[a]["franchise"] == cards[b]["franchise"] for a, b in related)
    assert len({c["franchise"] for c in cards.values()}) > 1
    assert popular and trending
    assert int(published.live_meta(redis_url, prefix)["users"]) == len(recorded)


def test_publish_refuses_unpromoted_runs_unless_asked(world_db, redis_url, pipeline_runs):
    with db.connect(world_db) as conn:
        promoted = dict(conn.execute("SELECT pipeline, bool_or(promoted) FROM models.runs GROUP BY pipeline"))
    result = CliRunner().invoke(main, ["publish"], env={"ANIMEREC_POSTGRES_URL": world_db,
                                                       "ANIMEREC_REDIS_URL": redis_url})
    if any(promoted.values()):  # each pipeline publishes its own part; only no promoted run at all is refused
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0 and "promoted" in result.output
        forced = _invoke(["publish", "--allow-unpromoted"], world_db, redis_url)
        assert forced.exit_code == 0, forced.output
