"""Canonical URLs, page-type inference (MAL, Jikan, mirror hosts) and the SSRF allow-list."""

from __future__ import annotations

import pytest

from animerec.crawler import urls
from animerec.crawler.parsers import PAGE_TYPES


def test_canonical_urls() -> None:
    assert urls.anime_url(5114) == "https://myanimelist.net/anime/5114"
    assert urls.profile_url("Xinil") == "https://myanimelist.net/profile/Xinil"
    assert urls.animelist_url("Xinil", 300) == "https://myanimelist.net/animelist/Xinil/load.json?offset=300&status=7"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://myanimelist.net/anime/1", "anime"),
    ("https://myanimelist.net/anime/1/Cowboy_Bebop", "anime"),
    ("http://myanimelist.net/anime/21/", "anime"),
    ("https://myanimelist.net/anime/1/_/stats", "anime_stats"),
    ("https://myanimelist.net/anime/1/Cowboy_Bebop/userrecs", "anime_userrecs"),
    ("https://myanimelist.net/anime/1/_/reviews?p=3", "anime_reviews"),
    ("https://myanimelist.net/anime/1/_/pics", "anime_pics"),
    ("https://myanimelist.net/anime/1/_/clubs", "anime_clubs"),
    ("https://myanimelist.net/profile/Xinil", "profile"),
    ("https://myanimelist.net/profile/Xinil/friends?offset=100", "friends"),
    ("https://myanimelist.net/animelist/Xinil/load.json?offset=0&status=7", "animelist"),
    ("https://myanimelist.net/history/Xinil/anime", "history"),
    ("https://myanimelist.net/history/Xinil", "history"),
    ("https://myanimelist.net/topanime.php?limit=50", "top_anime"),
    ("https://myanimelist.net/users.php", "users"),
    ("https://api.jikan.moe/v4/anime/1/full", "anime"),
    ("https://api.jikan.moe/v4/anime/1/statistics", "anime_stats"),
    ("https://api.jikan.moe/v4/anime/1/recommendations", "anime_userrecs"),
    ("https://api.jikan.moe/v4/anime/1/reviews?page=2", "anime_reviews"),
    ("https://api.jikan.moe/v4/anime/1/pictures", "anime_pics"),
    ("https://api.jikan.moe/v4/users/Xinil/full", "profile"),
    ("https://api.jikan.moe/v4/users/Xinil/friends", "friends"),
    ("https://api.jikan.moe/v4/users/Xinil/history/anime", "history"),
    ("https://api.jikan.moe/v4/top/anime?page=2", "top_anime"),
    ("https://api.jikan.moe/v4/users?q=a", "users"),
    # the offline mirror serves MAL paths at / and Jikan at /v4 on any host
    ("http://127.0.0.1:8080/anime/1/_/stats", "anime_stats"),
    ("http://127.0.0.1:8080/v4/anime/1/statistics", "anime_stats"),
])
def test_page_type(url: str, expected: str) -> None:
    assert urls.page_type(url) == expected
    assert expected in PAGE_TYPES


@pytest.mark.parametrize("url", [
    "https://myanimelist.net/manga/1", "https://myanimelist.net/anime/1/_/characters", "https://myanimelist.net/",
    "https://myanimelist.net/profile/x", "https://api.jikan.moe/v4/manga/1", "not a url", "",
    "https://myanimelist.net/anime/abc",
])
def test_unknown_page_type(url: str) -> None:
    with pytest.raises(ValueError, match="unknown page type"):
        urls.page_type(url)


def test_ids_from_urls() -> None:
    assert urls.anime_id_from_url("https://myanimelist.net/anime/918/Gintama/stats") == 918
    assert urls.anime_id_from_url("https://api.jikan.moe/v4/anime/11757/full") == 11757
    assert urls.anime_id_from_url("https://myanimelist.net/anime/0") is None
    assert urls.anime_id_from_url("https://myanimelist.net/manga/5") is None
    assert urls.user_name_from_url("https://myanimelist.net/profile/mattia_y/friends") == "mattia_y"
    assert urls.user_name_from_url("https://myanimelist.net/animelist/a-b_c/load.json?offset=0") == "a-b_c"
    assert urls.user_name_from_url("https://api.jikan.moe/v4/users/USER_1/full") == "USER_1"
    assert urls.user_name_from_url("https://myanimelist.net/profile/bad%20name") is None


def test_user_names_follow_the_event_schemas_length_rule() -> None:
    """One rule (contracts.user_name_pattern, 2-32 characters) for URLs, parsers, mirror and API."""
    longest, too_long = "a" * 31 + "Z", "b" * 33
    for make in (urls.profile_url, urls.animelist_url, lambda n: f"https://api.jikan.moe/v4/users/{n}/full"):
        assert urls.user_name_from_url(make(longest)) == longest
        assert urls.user_name_from_url(make(too_long)) is None
    assert urls.page_type(urls.profile_url(longest)) == "profile"
    with pytest.raises(ValueError, match="unknown page type"):
        urls.page_type(urls.profile_url(too_long))
    assert urls.user_name_from_url(urls.profile_url("x")) is None


@pytest.mark.parametrize("source", ["mal", "jikan"])
def test_subpages_round_trip(source: str) -> None:
    anime = urls.anime_subpages(42, source)
    types = [urls.page_type(u) for u in anime]
    expected = ["anime", "anime_stats", "anime_userrecs", "anime_reviews", "anime_pics"]
    assert types == expected + (["anime_clubs"] if source == "mal" else [])  # Jikan v4 has no anime clubs
    assert all(urls.anime_id_from_url(u) == 42 and urls.is_allowed(u) for u in anime)
    profile = urls.profile_subpages("Xinil", source)
    assert [urls.page_type(u) for u in profile] == ["profile", "animelist", "friends", "history"]
    assert all(urls.user_name_from_url(u) == "Xinil" and urls.is_allowed(u) for u in profile)
    with pytest.raises(ValueError):
        urls.anime_subpages(1, "crunchyroll")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://myanimelist.net/anime/1", True),
    ("https://api.jikan.moe/v4/anime/1", True),
    ("https://www.myanimelist.net/anime/1", True),
    ("http://myanimelist.net/anime/1", False),            # plain http
    ("https://myanimelist.net.evil.com/anime/1", False),
    ("https://evil.com/?u=https://myanimelist.net/", False),
    ("https://user:pw@myanimelist.net/anime/1", False),
    ("https://myanimelist.net:8443/anime/1", False),
    ("https://169.254.169.254/latest/meta-data", False),
    ("file:///etc/passwd", False),
    ("https://myanimelist.net:99999/", False),             # invalid port must not raise
    (None, False),
])
def test_is_allowed(url, allowed: bool) -> None:
    assert urls.is_allowed(url) is allowed


def test_rebase_and_canonical() -> None:
    base = "http://127.0.0.1:9999/"
    assert urls.rebase("https://myanimelist.net/anime/1/_/stats", base) == "http://127.0.0.1:9999/anime/1/_/stats"
    assert urls.rebase("https://api.jikan.moe/v4/anime/1", base) == "http://127.0.0.1:9999/v4/anime/1"
    assert urls.rebase("https://myanimelist.net/anime/1", None) == "https://myanimelist.net/anime/1"
    assert urls.canonical("http://127.0.0.1:9999/v4/anime/1?page=2") == "https://api.jikan.moe/v4/anime/1?page=2"
    assert urls.canonical("http://127.0.0.1:9999/profile/x_y") == "https://myanimelist.net/profile/x_y"
    for url in urls.anime_subpages(7, "mal") + urls.profile_subpages("Xinil", "jikan"):
        assert urls.canonical(urls.rebase(url, base)) == url
