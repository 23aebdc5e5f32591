"""Contract: the mirror's pages read like the real ones. For each page type, the crawler's parsers
run unchanged over the mirror's page and over a real saved page (../shared/mal-fixtures), and both
must give the same item types with the same set of non-null fields, and agree on paging.

anime_clubs has no real page to compare with (none was ever saved); its markup is checked against
the parser in the crawler's test_edge_cases and by test_server here.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from animerec.crawler import urls
from animerec.crawler.parsers import parse
from animerec.malmirror.server import run_in_thread
from animerec.malmirror.world import generate

MD = "MyAnimeList-Database/data/html"
JK = "jikan/test/fixtures_extracted"
RJ = "reactive-jikan/src/test/resources/responses"
MS = "mal-scraper/tests/mal_scraper/manual_responses"

# page type | real fixture | its URL | the mirror page (canonical URL template: {aid} anime id, {user} user name)
CONTRACT = [
    ("anime", f"{MD}/1/details.html", "https://myanimelist.net/anime/1", "https://myanimelist.net/anime/{aid}"),
    ("anime_stats", f"{MD}/1/stats.html", "https://myanimelist.net/anime/1/_/stats",
     "https://myanimelist.net/anime/{aid}/_/stats"),
    ("anime_userrecs", f"{MD}/5/recomendations.html", "https://myanimelist.net/anime/5/_/userrecs",
     "https://myanimelist.net/anime/{aid}/_/userrecs"),
    ("anime_reviews", f"{MD}/5/reviews_1.html", "https://myanimelist.net/anime/5/_/reviews?p=1",
     "https://myanimelist.net/anime/{aid}/_/reviews?p=1"),
    ("anime_pics", f"{MD}/1/pictures.html", "https://myanimelist.net/anime/1/_/pics",
     "https://myanimelist.net/anime/{aid}/_/pics"),
    ("profile", f"{MS}/user_test_page", "https://myanimelist.net/profile/SparkleBunnies",
     "https://myanimelist.net/profile/{user}"),
    ("friends", f"{JK}/FriendsParserTest.1.html", "https://myanimelist.net/profile/morshuwarrior/friends?offset=100",
     "https://myanimelist.net/profile/{user}/friends?offset=0"),
    ("history", f"{JK}/HistoryParserTest.html", "https://myanimelist.net/history/nekomata1037/",
     "https://myanimelist.net/history/{user}/anime"),
    ("animelist", "aqua/src/test/resources/parsing/anime_load.json",
     "https://myanimelist.net/animelist/mattia_y/load.json?offset=0&status=7",
     "https://myanimelist.net/animelist/{user}/load.json?offset=0&status=7"),
    ("top_anime", f"{JK}/TopAnimeParserTest.0.html", "https://myanimelist.net/topanime.php",
     "https://myanimelist.net/topanime.php"),
    ("users", "aqua/src/test/resources/parsing/users.html", "https://myanimelist.net/users.php",
     "https://myanimelist.net/users.php"),
    ("jikan anime", f"{RJ}/anime/getAnimeById.json", "https://api.jikan.moe/v4/anime/11757",
     "https://api.jikan.moe/v4/anime/{aid}"),
    ("jikan anime_stats", f"{RJ}/anime/getAnimeStatistics.json", "https://api.jikan.moe/v4/anime/11757/statistics",
     "https://api.jikan.moe/v4/anime/{aid}/statistics"),
    ("jikan anime_userrecs", f"{RJ}/anime/getAnimeRecommendations.json",
     "https://api.jikan.moe/v4/anime/11757/recommendations", "https://api.jikan.moe/v4/anime/{aid}/recommendations"),
    ("jikan anime_reviews", f"{RJ}/anime/getAnimeReviews.json", "https://api.jikan.moe/v4/anime/11757/reviews",
     "https://api.jikan.moe/v4/anime/{aid}/reviews"),
    ("jikan anime_pics", f"{RJ}/anime/getAnimePictures.json", "https://api.jikan.moe/v4/anime/11757/pictures",
     "https://api.jikan.moe/v4/anime/{aid}/pictures"),
    ("jikan profile", f"{RJ}/users/getUserProfile.json", "https://api.jikan.moe/v4/users/USER_1",
     "https://api.jikan.moe/v4/users/{user}"),
    ("jikan favorites", f"{RJ}/users/getUserFavorites.json", "https://api.jikan.moe/v4/users/USER_1/favorites",
     "https://api.jikan.moe/v4/users/{user}/favorites"),
    ("jikan statistics", f"{RJ}/users/getUserStatistics.json", "https://api.jikan.moe/v4/users/USER_1/statistics",
     "https://api.jikan.moe/v4/users/{user}/statistics"),
    ("jikan friends", f"{RJ}/users/getUserFriends.json", "https://api.jikan.moe/v4/users/USER_2/friends",
     "https://api.jikan.moe/v4/users/{user}/friends"),
    ("jikan history", f"{RJ}/users/getUserHistory_anime.json", "https://api.jikan.moe/v4/users/USER_1/history",
     "https://api.jikan.moe/v4/users/{user}/history"),
    ("jikan top_anime", f"{RJ}/top/getTopAnime.json", "https://api.jikan.moe/v4/top/anime",
     "https://api.jikan.moe/v4/top/anime"),
]


@pytest.fixture(scope="module")
def mirror():
    world = generate(users=400, anime=120, seed=3)
    handle = run_in_thread(world)
    yield world, handle
    handle.stop()


def _subjects(world) -> dict[str, object]:
    """A TV anime with relations, recommendations, reviews and a score; a public user with
    favorites, friends and history."""
    from animerec.malmirror import pages

    def rich_anime(ai: int) -> bool:
        a = world.anime[ai]
        return (a.type == "TV" and a.episodes and a.end and world.related.get(ai) and world.favorites[ai] > 0
                and len(pages.recommendations(world, ai)) >= 1 and world.score_rank[ai] > 0 and a.themes)

    ai = next(int(ai) for ai in world.ranking if rich_anime(int(ai)))
    ui = next(u for u in sorted(range(world.n_users), key=lambda u: -len(world.friends(u)))
              if not world.private[u] and world.favorite_anime(u) and pages.history_entries(world, u)
              and world.user_clubs(u) == [] and any(world.e_score[i] > 0 for i in world.entries(u))
              and any(world.e_status[i] == 2 for i in world.entries(u)))
    return {"aid": world.anime[ai].anime_id, "user": world.user_names[ui]}


def _shape(page) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for item in page.items:
        out.setdefault(item["item_type"], set()).update(k for k, v in item.items() if v not in (None, []))
    return {k: frozenset(v) for k, v in out.items()}


@pytest.mark.parametrize(("kind", "fixture", "real_url", "template"), CONTRACT, ids=[c[0] for c in CONTRACT])
def test_mirror_page_reads_like_the_real_one(mal_fixtures: Path, mirror, kind: str, fixture: str, real_url: str,
                                             template: str) -> None:
    world, handle = mirror
    real = parse(real_url, (mal_fixtures / fixture).read_bytes(), crawled_at="2021-02-20T00:00:00Z")
    url = urls.rebase(template.format(**_subjects(world)), handle.base_url)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    mirrored = parse(url, response.content)
    assert (mirrored.page_type, mirrored.source, mirrored.status) == (real.page_type, real.source, real.status)
    assert _shape(mirrored) == _shape(real)
    assert bool(mirrored.links) == bool(real.links)
    if real.page_type in ("top_anime", "users"):
        assert (mirrored.next_url is None) == (real.next_url is None)
