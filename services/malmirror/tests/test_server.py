"""The mirror over HTTP: every route, paging, consistency with the world, errors, faults, the CLI."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
from click.testing import CliRunner

from animerec.common import contracts
from animerec.crawler import urls
from animerec.crawler.parsers import ParseError, parse
from animerec.malmirror import pages
from animerec.malmirror.cli import mirror as mirror_cli
from animerec.malmirror.faults import Faults, unit
from animerec.malmirror.server import Mirror, run_in_thread
from animerec.malmirror.world import generate

CLIENT = httpx.Client(timeout=10)  # keep-alive: a new connection per request costs more than the page


def get(handle, canonical: str) -> tuple[httpx.Response, str]:
    url = urls.rebase(canonical, handle.base_url)
    return CLIENT.get(url), url


def parsed(handle, canonical: str):
    response, url = get(handle, canonical)
    page = parse(url, response.content)
    for item in page.items:
        contracts.validate(item["item_type"], item)
    return response, page


def test_robots_and_unknown_paths(mal_mirror) -> None:
    response, _ = get(mal_mirror, "https://myanimelist.net/robots.txt")
    assert response.status_code == 200 and "User-agent: *" in response.text
    for canonical in ("https://myanimelist.net/anime/99999999", "https://myanimelist.net/profile/nobody_here",
                      "https://myanimelist.net/manga/1", "https://myanimelist.net/animelist/nobody_here/load.json"):
        response, url = get(mal_mirror, canonical)
        assert response.status_code == 404
        if "/manga/" not in canonical and "load.json" not in canonical:
            assert parse(url, response.content).status == "not_found"
    response, url = get(mal_mirror, "https://api.jikan.moe/v4/anime/99999999/full")
    assert response.status_code == 404 and parse(url, response.content).status == "not_found"


def test_anime_pages_match_the_world(mal_mirror, mirror_world) -> None:
    w = mirror_world
    ai = int(w.ranking[0])
    a = w.anime[ai]
    _, page = parsed(mal_mirror, f"https://myanimelist.net/anime/{a.anime_id}")
    info = page.items[0]
    assert (info["title"], info["members_count"], info["score_rank"]) == (a.title, w.members(ai), 1)
    assert info["score"] == pytest.approx(float(w.score[ai]), abs=0.005)
    assert info["genres"] == [*a.genres, *a.themes, *a.demographics]
    assert {(r["relation_type"], r["related_anime_id"]) for r in page.items[1:]} == {
        (k, w.anime[t].anime_id) for k, t in w.related.get(ai, [])}
    _, stats = parsed(mal_mirror, f"https://myanimelist.net/anime/{a.anime_id}/_/stats")
    s = stats.items[0]
    assert s["total_count"] == w.members(ai) and s["completed_count"] == int(w.status_counts[ai][1])
    assert sum(s[f"score_{k:02d}_count"] for k in range(1, 11)) == int(w.score_hist[ai].sum())
    _, jikan_stats = parsed(mal_mirror, f"https://api.jikan.moe/v4/anime/{a.anime_id}/statistics")
    assert {k: v for k, v in jikan_stats.items[0].items() if k.endswith("_count")} == {
        k: v for k, v in s.items() if k.endswith("_count")}
    _, recs = parsed(mal_mirror, f"https://myanimelist.net/anime/{a.anime_id}/_/userrecs")
    _, jrecs = parsed(mal_mirror, f"https://api.jikan.moe/v4/anime/{a.anime_id}/recommendations")
    key = lambda p: sorted((i["recommended_anime_id"], i["num_recommenders"]) for i in p.items)  # noqa: E731
    assert key(recs) == key(jrecs) == sorted((w.anime[t].anime_id, n) for t, n, _ in pages.recommendations(w, ai))
    _, clubs = parsed(mal_mirror, f"https://myanimelist.net/anime/{a.anime_id}/_/clubs")
    assert [(c["club_id"], c["members_count"]) for c in clubs.items] == [
        (cid, members) for cid, _, members in pages.clubs_of(w, ai)]


def test_reviews_page_through(mal_mirror_factory) -> None:
    world = generate(users=400, anime=30, seed=5)
    handle = mal_mirror_factory(world)
    ai = int(world.popularity_rank.argmin())
    expected = pages.reviews_of(world, ai)
    assert len(expected) > 20
    seen, url = [], f"https://myanimelist.net/anime/{world.anime[ai].anime_id}/_/reviews?p=1"
    while url:
        _, page = parsed(handle, url)
        seen += [r["review_id"] for r in page.items]
        url = page.next_url
    assert seen == [r["review_id"] for r in expected]
    jseen, url = [], f"https://api.jikan.moe/v4/anime/{world.anime[ai].anime_id}/reviews?page=1"
    while url:
        _, page = parsed(handle, url)
        jseen += [r["review_id"] for r in page.items]
        url = page.next_url
    assert jseen == seen


def test_profile_list_friends_history_agree(mal_mirror, mirror_world) -> None:
    w = mirror_world
    ui = max((u for u in range(w.n_users) if not w.private[u]), key=lambda u: len(w.entries(u)))
    name = w.user_names[ui]
    _, profile = parsed(mal_mirror, f"https://myanimelist.net/profile/{name}")
    p = profile.items[0]
    _, listing = parsed(mal_mirror, urls.animelist_url(name))
    entries = listing.items
    assert len(entries) == len(w.entries(ui)) and listing.next_url is None
    by_status = {s: sum(e["status"] == s for e in entries) for s in ("watching", "completed", "dropped")}
    assert (p["num_watching"], p["num_completed"], p["num_dropped"]) == tuple(by_status.values())
    assert p["user_id"] == int(w.user_ids[ui]) and p["private"] is False
    favs = [i["anime_id"] for i in profile.items if i["item_type"] == "favorite"]
    assert favs == [w.anime[f].anime_id for f in w.favorite_anime(ui)]
    _, jprofile = parsed(mal_mirror, f"https://api.jikan.moe/v4/users/{name}/full")
    jp = jprofile.items[0]
    assert {k: jp[k] for k in ("num_completed", "num_watching", "mean_score", "num_days")} == {
        k: p[k] for k in ("num_completed", "num_watching", "mean_score", "num_days")}
    _, friends = parsed(mal_mirror, f"https://myanimelist.net/profile/{name}/friends")
    assert sorted(f["friend_name"] for f in friends.items) == sorted(
        w.user_names[int(w.f_user[i])] for i in w.friends(ui))
    _, history = parsed(mal_mirror, f"https://myanimelist.net/history/{name}/anime")
    assert [(h["anime_id"], h["episode"]) for h in history.items] == [
        (w.anime[a].anime_id, ep) for a, ep, _ in pages.history_entries(w, ui)]


def test_animelist_pages_by_300(mal_mirror_factory) -> None:
    world = generate(users=600, anime=900, seed=2)
    handle = mal_mirror_factory(world)
    ui = max((u for u in range(world.n_users) if not world.private[u]), key=lambda u: len(world.entries(u)))
    total = len(world.entries(ui))
    assert total > 300
    url, got = urls.animelist_url(world.user_names[ui]), []
    while url:
        _, page = parsed(handle, url)
        got += [e["anime_id"] for e in page.items]
        url = page.next_url
    assert len(got) == len(set(got)) == total


def test_discovery_lists(mal_mirror, mirror_world) -> None:
    w = mirror_world
    _, top = parsed(mal_mirror, "https://myanimelist.net/topanime.php")
    assert top.links[0] == urls.anime_url(w.anime[int(w.ranking[0])].anime_id) and len(top.links) == 50
    _, users1 = parsed(mal_mirror, "https://myanimelist.net/users.php")
    _, users2 = parsed(mal_mirror, "https://myanimelist.net/users.php")
    assert len(users1.links) == 20 and not set(users1.links) & set(users2.links)  # a new slice each visit
    url, seen = "https://api.jikan.moe/v4/users?page=1", set()
    while url:
        _, page = parsed(mal_mirror, url)
        seen |= set(page.links)
        url = page.next_url
    assert seen == {urls.profile_url(n) for n in w.user_names}


def test_private_users(mal_mirror_factory) -> None:
    world = generate(users=50, anime=40, seed=9)
    world.private[:] = False
    world.private[3] = True
    handle = mal_mirror_factory(world)
    name = world.user_names[3]
    response, profile = parsed(handle, f"https://myanimelist.net/profile/{name}")
    assert profile.status == "private" and profile.items[0]["private"] is True
    response, url = get(handle, urls.animelist_url(name))
    assert response.status_code == 400 and parse(url, response.content).status == "private"


def test_faults_are_deterministic_and_recoverable(mal_mirror_factory, mirror_world) -> None:
    faults = Faults(rate_429=0.3, rate_500=0.1, rate_503=0.1, rate_truncate=0.1, rate_garble=0.1, retry_after=3,
                    seed=42)
    handle = mal_mirror_factory(mirror_world, faults)
    canonical = [urls.anime_url(a.anime_id) for a in mirror_world.anime[:30]]
    outcomes = []
    for c in canonical:
        response, url = get(handle, c)
        fault = response.headers.get("X-Mirror-Fault")
        outcomes.append((response.status_code, fault))
        assert fault == faults.for_request(url.removeprefix(handle.base_url), 0)
        if response.status_code in (429, 503):
            assert response.headers["Retry-After"] == "3"
        elif fault in ("truncate", "garble"):
            with pytest.raises(ParseError):
                parse(url, response.content)
        elif response.status_code == 200:
            assert parse(url, response.content).items
    kinds = {f for _, f in outcomes}
    assert {"429", None} <= kinds and len(kinds) >= 3
    # a fresh mirror with the same seed answers the same sequence
    again = mal_mirror_factory(mirror_world, faults)
    assert [(get(again, c)[0].status_code) for c in canonical] == [s for s, _ in outcomes]
    # retrying a URL eventually succeeds (each attempt draws anew)
    for c in canonical:
        for _ in range(20):
            if get(handle, c)[0].status_code == 200:
                break
        else:
            pytest.fail(f"{c} never succeeded")


def test_slow_private_and_missing_faults(mal_mirror_factory, mirror_world) -> None:
    slow = mal_mirror_factory(mirror_world, Faults(rate_slow=1.0, slow_seconds=0.3))
    started = time.perf_counter()
    response, _ = get(slow, "https://myanimelist.net/robots.txt")   # probes are never faulted
    assert response.status_code == 200 and time.perf_counter() - started < 0.3
    started = time.perf_counter()
    assert get(slow, urls.anime_url(mirror_world.anime[0].anime_id))[0].status_code == 200
    assert time.perf_counter() - started >= 0.3
    faults = Faults(rate_private=0.5, rate_404=0.3, seed=1)
    handle = mal_mirror_factory(mirror_world, faults)
    statuses = {}
    for name in mirror_world.user_names[:20]:
        response, url = get(handle, f"https://myanimelist.net/profile/{name}")
        statuses[name] = parse(url, response.content).status
        expected = ("not_found" if faults.is_missing("user", name) else
                    "private" if faults.is_private(name) or mirror_world.private[mirror_world.user_index[name]]
                    else "ok")
        assert statuses[name] == expected
    assert {"ok", "private", "not_found"} <= set(statuses.values())


def test_fault_specs() -> None:
    f = Faults.parse("429=0.1, 500=0.05,slow=0.2,slow_seconds=1.5,retry_after=4,private=0.02,404=0.01", seed=3)
    assert (f.rate_429, f.rate_500, f.rate_slow, f.slow_seconds, f.retry_after, f.seed) == (0.1, 0.05, 0.2, 1.5, 4, 3)
    for bad in ("429=2", "429=0.6,500=0.6", "teapot=0.1", "429", "429=lots", "slow_seconds=-1"):
        with pytest.raises(ValueError):
            Faults.parse(bad)
    draws = [unit(1, "request", "/anime/1", n) for n in range(2000)]
    assert 0.45 < sum(d < 0.5 for d in draws) / len(draws) < 0.55
    m = Mirror(generate(20, 20, seed=1), Faults(rate_429=0.5, seed=8))
    now = dt.datetime.now(dt.UTC)
    first = [m.answer("/anime/1", "", now)[0] for _ in range(10)]
    m2 = Mirror(generate(20, 20, seed=1), Faults(rate_429=0.5, seed=8))
    assert first == [m2.answer("/anime/1", "", now)[0] for _ in range(10)] and {429, 200} <= set(first)


def test_cli_errors(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(mirror_cli, ["serve", "--world", str(tmp_path), "--port", "0"])
    assert result.exit_code != 0 and "ANIMEREC_DATA_DIR" in result.output and "--generate-users" in result.output
    result = runner.invoke(mirror_cli, ["serve", "--generate-users", "5", "--faults", "429=7"])
    assert result.exit_code == 2 and "rate_429" in result.output


def test_run_in_thread_context_manager(mirror_world) -> None:
    with run_in_thread(mirror_world) as handle:
        assert httpx.get(handle.base_url + "/robots.txt").status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(handle.base_url + "/robots.txt", timeout=1)
