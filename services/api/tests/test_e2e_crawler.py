"""Cold start end to end with the real crawler service: `animerec crawl serve` crawling the offline MyAnimeList
mirror, the API asking it for an unknown user's profile, then recommending from that user's completed anime."""

import json
import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COMPLETED = 2  # MAL's status code of a completed entry


@pytest.fixture()
def crawler_service(core_settings, tmp_path):
    pytest.importorskip("animerec.crawler.service", reason="the crawler package is not installed")
    from animerec.devkit.processes import Proc, crawler_env, start_serve
    from animerec.malmirror.server import run_in_thread
    from animerec.malmirror.world import generate

    world = generate(users=6, anime=12, seed=3)
    mirror = run_in_thread(world)
    try:
        serve, base = start_serve(lambda args, env: Proc(args, env, tmp_path / "serve.log"),
                                  crawler_env(core_settings, mirror.base_url))
        try:
            yield world, base
        finally:
            serve.stop()
    finally:
        mirror.stop()


def test_unknown_user_is_crawled_by_the_crawler_service(crawler_service, core_settings, store, make_client):
    world, crawler_url = crawler_service
    anime = {a.anime_id: a for a in world.anime}
    ids = sorted(anime)
    # What a batch run would have published: cards, item-item similarity (same cluster = close), no users yet.
    similar = {a: sorted(((b, 0.9 if anime[a].cluster == anime[b].cluster else 0.3) for b in ids if b != a),
                         key=lambda x: (-x[1], x[0])) for a in ids}
    cards = {a: {"title": anime[a].title, "main_pic": anime[a].pic, "genres": list(anime[a].genres),
                 "url": f"https://myanimelist.net/anime/{a}", "type": anime[a].type} for a in ids}
    store.publish({}, similar, cards, ids, ids, {})

    def user_with_completions():
        for name in world.user_names:
            ui = world.user_index[name]
            statuses = [int(world.e_status[e]) for e in world.entries(ui)]
            if not world.private[ui] and COMPLETED in statuses and len(statuses) < len(ids) - 2:
                return name, ui
        pytest.fail("the generated world has no public user with completed anime and room for recommendations")

    user, ui = user_with_completions()
    listed = {world.anime[int(world.e_anime[e])].anime_id for e in world.entries(ui)}
    completed = {world.anime[int(world.e_anime[e])].title for e in world.entries(ui)
                 if int(world.e_status[e]) == COMPLETED}

    with make_client(core_settings.redis_url, kafka=core_settings.kafka_bootstrap, crawler_url=crawler_url,
                     crawl_timeout_seconds=90) as api:
        first = api.get(f"/v1/users/{user}/recommendations", params={"n": 50}).json()
        assert first["source"] == "fallback" and first["crawl"] == "requested"
        deadline = time.monotonic() + 120
        while True:
            body = api.get(f"/v1/users/{user}/recommendations", params={"n": 50}).json()
            if body["source"] == "recent_completed" or body["crawl"] == "failed":
                break
            assert time.monotonic() < deadline, f"no recommendations from the crawl in time: {body}"
            time.sleep(0.5)
    assert body["source"] == "recent_completed", body
    fresh = json.loads(store.redis.get(store.fresh_list_key(user)))  # what the crawl left for the API
    assert {e[0] for e in fresh["entries"]} == listed
    got = [i["anime_id"] for i in body["items"]]
    assert got and not set(got) & listed
    assert set(got) == set(ids) - listed  # every unlisted anime is similar to something completed here
    assert {i["reason"].removeprefix("because you completed ") for i in body["items"]} <= completed
