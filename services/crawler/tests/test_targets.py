"""Which URLs the crawler accepts (SSRF guard), what it crawls for them, where requests are sent."""

from __future__ import annotations

import pytest

from animerec.crawler import targets
from animerec.crawler.targets import TargetError


@pytest.mark.parametrize(("url", "kind", "canonical", "source"), [
    ("https://myanimelist.net/anime/1", "anime", "https://myanimelist.net/anime/1", "mal"),
    ("https://myanimelist.net/anime/5114/Fullmetal_Alchemist/stats", "anime", "https://myanimelist.net/anime/5114",
     "mal"),
    ("https://api.jikan.moe/v4/anime/21/full", "anime", "https://myanimelist.net/anime/21", "jikan"),
    ("https://myanimelist.net/profile/Some_User", "profile", "https://myanimelist.net/profile/Some_User", "mal"),
    ("https://api.jikan.moe/v4/users/nekomata1037/full", "profile", "https://myanimelist.net/profile/nekomata1037",
     "jikan"),
])
def test_resolves_anime_and_profile_urls(url, kind, canonical, source):
    target = targets.resolve(url)
    assert (target.kind, target.url, target.source) == (kind, canonical, source)


@pytest.mark.parametrize("url", [
    "http://myanimelist.net/anime/1",             # not https
    "https://evil.example/anime/1",
    "https://myanimelist.net.evil.example/anime/1",
    "https://user:pw@myanimelist.net/anime/1",
    "https://myanimelist.net:8080/anime/1",
    "https://169.254.169.254/latest/meta-data",
    "file:///etc/passwd",
    "https://myanimelist.net/forum/?topicid=1",   # allowed host, but no anime or profile
    "",
    42,
])
def test_refuses_everything_else(url):
    with pytest.raises(TargetError):
        targets.resolve(url)


def test_kind_and_source_are_checked():
    with pytest.raises(TargetError, match="is a profile URL, not anime"):
        targets.resolve("https://myanimelist.net/profile/Alice", kind="anime")
    with pytest.raises(TargetError, match="source must be one of"):
        targets.resolve("https://myanimelist.net/anime/1", source="anilist")
    assert targets.resolve("https://myanimelist.net/anime/1", source="jikan").source == "jikan"


def test_start_urls_and_keys():
    anime = targets.resolve("https://myanimelist.net/anime/1", "jikan")
    assert anime.start_urls()[0] == "https://api.jikan.moe/v4/anime/1/full" and anime.key == "1"
    profile = targets.resolve("https://myanimelist.net/profile/Alice")
    assert profile.start_urls()[0] == "https://myanimelist.net/profile/Alice" and profile.key == "Alice"


def test_rebase_sends_requests_to_the_mirror_but_keeps_politeness_per_real_host():
    mal, jikan = "http://127.0.0.1:8000", "http://127.0.0.1:8000/v4"
    assert targets.rebase("https://myanimelist.net/anime/1/_/reviews?p=2", mal, jikan) == \
        "http://127.0.0.1:8000/anime/1/_/reviews?p=2"
    assert targets.rebase("https://api.jikan.moe/v4/anime/1/full", mal, jikan) == "http://127.0.0.1:8000/v4/anime/1/full"
    assert targets.host_of("https://api.jikan.moe/v4/anime/1/full") == "api.jikan.moe"
    assert targets.host_of("https://myanimelist.net/anime/1") == "myanimelist.net"
    with pytest.raises(TargetError):
        targets.rebase("https://evil.example/x", mal, jikan)


def test_seeds():
    assert targets.seed("anime/top", "mal").url == "https://myanimelist.net/topanime.php"
    assert targets.seed("profile/recent", "jikan").url == "https://api.jikan.moe/v4/users"
    with pytest.raises(TargetError, match="unknown seed"):
        targets.seed("manga/top", "mal")


def test_origin_fills_default_ports():
    assert targets.origin("https://myanimelist.net/x") == targets.origin("https://MyAnimeList.net:443/y")
    assert targets.origin("http://127.0.0.1:8000/v4") == ("http", "127.0.0.1", 8000)
