"""Edge cases: numeric titles, private / missing users, empty pages, error bodies, garbled and truncated
bodies, and the layouts no real fixture shows (anime clubs, post-2022 tiles and review cards).

Bodies derived from real fixtures say which one and what was changed; the small hand-written pages
are marked SYNTHETIC and follow MAL's markup as described in the parser module docstrings.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from animerec.crawler.parsers import ParseError, parse

AT = "2018-12-03T00:00:00Z"
AQ = "aqua/src/test/resources/parsing"
MD = "MyAnimeList-Database/data/html"
MS = "mal-scraper/tests/mal_scraper/manual_responses"
LIST_URL = "https://myanimelist.net/animelist/mattia_y/load.json?offset=0&status=7"


def test_numeric_titles(mal_fixtures: Path, valid) -> None:
    # aqua/anime_load.json with the first title turned into a JSON number, as MAL sends titles like "86"
    entries = json.loads((mal_fixtures / AQ / "anime_load.json").read_bytes())
    entries[0]["anime_title"] = 86
    page = valid(parse(LIST_URL, json.dumps(entries).encode(), crawled_at=AT))
    assert page.items[0]["anime_title"] == "86"
    # the real list holds titles starting with digits; they stay strings
    titles = {i["anime_title"] for i in page.items}
    assert {"91 Days", "3-gatsu no Lion"} <= titles
    # MyAnimeList-Database/1/details.html with the title "Cowboy Bebop" in <h1> replaced by "86"
    body = (mal_fixtures / MD / "1/details.html").read_text()
    body = body.replace("<strong>\n           Cowboy Bebop\n          </strong>", "<strong>\n 86\n </strong>", 1)
    info = valid(parse("https://myanimelist.net/anime/1", body.encode(), crawled_at=AT)).items[0]
    assert info["title"] == "86"


def test_private_profile_and_list(mal_fixtures: Path, valid) -> None:
    page = valid(parse("https://myanimelist.net/profile/clarity", (mal_fixtures / AQ / "profile_private.html")
                       .read_bytes(), crawled_at=AT))
    assert page.status == "private" and page.items[0]["private"] is True
    assert page.items[0]["num_completed"] == 131  # the statistics stay public
    lst = parse(LIST_URL, (mal_fixtures / MS / "user_anime_list_forbidden").read_bytes(), crawled_at=AT)
    assert (lst.status, lst.items, lst.next_url) == ("private", [], None)


def test_missing_user_is_not_found(mal_fixtures: Path) -> None:
    page = parse("https://myanimelist.net/profile/asdghiuhunircg",
                 (mal_fixtures / MS / "user_does_not_exist").read_bytes(), crawled_at=AT)
    assert (page.status, page.items, page.links) == ("not_found", [], [])
    # the same 404 body on any MAL page type is not_found, never a crash
    for url in ("https://myanimelist.net/anime/99999999", "https://myanimelist.net/profile/gone_user/friends",
                "https://myanimelist.net/history/gone_user", "https://myanimelist.net/anime/1/_/clubs",
                "https://myanimelist.net/topanime.php", "https://myanimelist.net/users.php"):
        assert parse(url, (mal_fixtures / MS / "user_does_not_exist").read_bytes()).status == "not_found"


@pytest.mark.parametrize("body", [b"[]", b"[]\n", b" [ ] "])
def test_empty_list_pages(body: bytes) -> None:
    page = parse("https://myanimelist.net/animelist/x_y/load.json?offset=600&status=7", body, crawled_at=AT)
    assert (page.status, page.items, page.next_url) == ("empty", [], None)


def test_empty_jikan_pages_and_friends(mal_fixtures: Path) -> None:
    empty = json.dumps({"pagination": {"has_next_page": False}, "data": []}).encode()
    for url in ("https://api.jikan.moe/v4/anime/1/reviews?page=9", "https://api.jikan.moe/v4/users/a_b/friends"):
        page = parse(url, empty, crawled_at=AT)
        assert (page.status, page.items, page.next_url) == ("empty", [], None)
    friends = parse("https://myanimelist.net/profile/morshuwarrior/friends?offset=10000",
                    (mal_fixtures / "jikan/test/fixtures_extracted/FriendsParserTest.2.html").read_bytes())
    assert friends.status == "empty"


def test_jikan_error_bodies() -> None:
    not_found = {"status": 404, "type": "BadResponseException", "message": "Resource does not exist", "error": None}
    page = parse("https://api.jikan.moe/v4/anime/99999999/full", json.dumps(not_found).encode())
    assert (page.status, page.items) == ("not_found", [])
    limited = {"status": 429, "type": "RateLimitException", "message": "You are being rate limited", "error": None}
    with pytest.raises(ParseError, match=r"429.*RateLimitException") as err:
        parse("https://api.jikan.moe/v4/anime/1/full", json.dumps(limited).encode())
    assert err.value.page_type == "anime" and err.value.url == "https://api.jikan.moe/v4/anime/1/full"


@pytest.mark.parametrize(("url", "body"), [
    (LIST_URL, b"<html>Too Many Requests</html>"),
    (LIST_URL, b'{"items": []}'),
    (LIST_URL, b'["a", "b"]'),
    (LIST_URL, b"\xff\xfe\x00garbage"),
    (LIST_URL, b'[{"anime_id": 1, "status": 2'),
    ("https://api.jikan.moe/v4/anime/1/full", b"[1, 2, 3]"),
    ("https://api.jikan.moe/v4/anime/1/statistics", b'{"data": [1, 2]}'),
    ("https://api.jikan.moe/v4/anime/1/reviews", b'{"data": {"a": 1}}'),
    ("https://api.jikan.moe/v4/anime/1/full", b'{"data": {"title": null}}'),
    ("https://api.jikan.moe/v4/users/a_b/friends", b'{"data": [1, 2]}'),
    ("https://myanimelist.net/anime/1", b""),
    ("https://myanimelist.net/anime/1", b"   \n"),
    ("https://myanimelist.net/anime/1", b'{"data": {}}'),
    ("https://myanimelist.net/profile/a_b", b"<html><body><div id='content'>maintenance</div></body></html>"),
    ("https://myanimelist.net/users.php", b"<html><body><div id='content'>no users"),
])
def test_error_and_garbled_bodies_raise_one_parse_error(url: str, body: bytes) -> None:
    with pytest.raises(ParseError) as err:
        parse(url, body, crawled_at=AT)
    assert err.value.url == url and url in str(err.value)


TRUNCATE = [
    (f"{MD}/1/details.html", "https://myanimelist.net/anime/1"),
    (f"{MD}/1/stats.html", "https://myanimelist.net/anime/1/_/stats"),
    (f"{MD}/5/reviews_1.html", "https://myanimelist.net/anime/5/_/reviews?p=1"),
    (f"{MD}/5/recomendations.html", "https://myanimelist.net/anime/5/_/userrecs"),
    (f"{AQ}/profile.html", "https://myanimelist.net/profile/mattia_y"),
    ("jikan/test/fixtures_extracted/FriendsParserTest.0.html", "https://myanimelist.net/profile/morshuwarrior/friends"),
    ("jikan/test/fixtures_extracted/HistoryParserTest.html", "https://myanimelist.net/history/nekomata1037/"),
    (f"{AQ}/anime_load.json", LIST_URL),
]


@pytest.mark.parametrize(("path", "url"), TRUNCATE, ids=lambda v: v.rsplit("/", 1)[-1][:24])
def test_truncated_and_corrupted_bodies(mal_fixtures: Path, valid, path: str, url: str) -> None:
    """A real page cut anywhere is refused; with random bytes overwritten it gives valid items or one ParseError."""
    body = (mal_fixtures / path).read_bytes()
    for k in range(1, 10):
        with pytest.raises(ParseError):
            parse(url, body[: len(body) * k // 10], crawled_at=AT)
    rng = random.Random(7)
    for _ in range(5):
        damaged = bytearray(body)
        for pos in rng.sample(range(len(damaged)), 200):
            damaged[pos] = rng.randrange(256)
        try:
            valid(parse(url, bytes(damaged), crawled_at=AT))
        except ParseError as exc:
            assert exc.url == url


def test_anime_clubs_synthetic() -> None:
    # SYNTHETIC: /anime/<id>/_/clubs has no saved real page; MAL lists clubs as clubs.php?cid= links in
    # div.borderClass rows with the member count beside them.
    body = b"""<html><head><meta property="og:url" content="https://myanimelist.net/anime/1/Cowboy_Bebop/clubs"></head>
    <body><div id="contentWrapper"><div id="content"><h2>Related Clubs</h2>
    <div class="borderClass"><a href="/clubs.php?cid=70446">Cowboy Bebop Fans</a><br><small>1,234 members</small></div>
    <div class="borderClass"><a href="/clubs.php?cid=12">Space Westerns</a><br><small>56 members</small></div>
    <div class="borderClass"><a href="/clubs.php?cid=12">Space Westerns</a></div>
    </div></div></body></html>"""
    page = parse("https://myanimelist.net/anime/1/_/clubs", body, crawled_at=AT)
    assert [(c["club_id"], c["club_name"], c["members_count"]) for c in page.items] == [
        (70446, "Cowboy Bebop Fans", 1234), (12, "Space Westerns", 56)]
    empty = parse("https://myanimelist.net/anime/1/_/clubs", body.split(b"<h2>")[0] + b"</div></div></body></html>")
    assert (empty.status, empty.items) == ("empty", [])


def test_post_2022_layouts_synthetic(valid) -> None:
    # SYNTHETIC, after MAL's 2023 markup: related anime as tiles + table, reviews as review-element cards.
    anime = b"""<html><body><div id="contentWrapper"><h1 class="title-name"><strong>Show</strong></h1>
    <div class="leftside"><div class="spaceit_pad"><span class="dark_text">Type:</span> <a href="/x">TV</a></div>
    <div class="spaceit_pad"><span class="dark_text">Genres:</span><span itemprop="genre" style="display:none">Action
    </span><a href="/anime/genre/1/Action" title="Action">Action</a></div>
    <div class="spaceit_pad"><span class="dark_text">Theme:</span><a href="/anime/genre/50/Adult_Cast"
     title="Adult Cast">Adult Cast</a></div>
    <div class="spaceit_pad"><span class="dark_text">Demographic:</span><a href="/anime/genre/42/Seinen"
     title="Seinen">Seinen</a></div></div>
    <div id="content"><div class="related-entries"><div class="entries-tile">
    <div class="entry borderClass"><div class="content"><div class="relation">Side Story
     (Movie)</div><div class="title"><a href="https://myanimelist.net/anime/5/x">Movie</a></div></div></div></div>
    <table class="entries-table"><tr><td class="borderClass">Sequel:</td><td class="borderClass"><ul class="entries">
    <li><a href="https://myanimelist.net/anime/6/y">Next</a> (TV)</li>
    <li><a href="https://myanimelist.net/manga/6/y">Manga</a></li></ul></td></tr></table></div></div>
    </div></body></html>"""
    page = valid(parse("https://myanimelist.net/anime/1", anime, crawled_at=AT))
    assert page.items[0]["genres"] == ["Action", "Adult Cast", "Seinen"]
    assert [(i["related_anime_id"], i["relation_type"]) for i in page.items[1:]] == [(6, "Sequel"), (5, "Side story")]
    reviews = b"""<html><body><div id="contentWrapper"><div id="content">
    <div class="review-element js-review-element"><div class="thumbbody"><div class="body">
    <div class="username"><a href="https://myanimelist.net/profile/Reviewer_1">Reviewer_1</a></div>
    <div class="update_at">Jan 5, 2023</div><div class="text">A long review text.</div>
    <div class="rating mt20 mb20 js-hidden">Reviewer's Rating: <span class="num">9</span></div></div></div>
    <div class="bottom-navi"><div class="open"><a href="https://myanimelist.net/reviews.php?id=480000">Permalink</a>
    </div></div></div></div></div></body></html>"""
    page = valid(parse("https://myanimelist.net/anime/1/_/reviews?p=1", reviews, crawled_at=AT))
    assert {k: page.items[0][k] for k in ("review_id", "user_name", "review_date", "review_score", "text")} == {
        "review_id": 480000, "user_name": "Reviewer_1", "review_date": "2023-01-05", "review_score": 9,
        "text": "A long review text."}


def test_explicit_type_and_unknown_type(mal_fixtures: Path) -> None:
    body = (mal_fixtures / MD / "1/stats.html").read_bytes()
    # a crawler URL that says nothing about the page (a redirect target) works with an explicit type
    page = parse("https://myanimelist.net/anime/1/_/stats?from=redirect", body, page_type="anime_stats")
    assert page.items[0]["total_count"] == 1251960
    with pytest.raises(ParseError, match="unknown page type"):
        parse("https://myanimelist.net/anime/1", body, page_type="manga")
    with pytest.raises(ParseError, match="not a anime page"):
        parse("https://myanimelist.net/anime/1", body)  # a stats body offered as the main page
    with pytest.raises(ValueError, match="crawled_at"):
        parse("https://myanimelist.net/anime/1/_/stats", body, crawled_at="yesterday")


def test_links_are_canonical_and_exclude_self(mal_fixtures: Path) -> None:
    page = parse("https://myanimelist.net/profile/mattia_y", (mal_fixtures / AQ / "profile.html").read_bytes())
    assert "https://myanimelist.net/profile/mattia_y" not in page.links
    anime = parse("https://myanimelist.net/anime/1", (mal_fixtures / MD / "1/details.html").read_bytes())
    assert "https://myanimelist.net/anime/1" not in anime.links
    assert all("/anime/producer" not in link and "/anime/genre" not in link for link in anime.links)


def test_the_page_names_its_anime_when_the_url_does_not(mal_fixtures: Path, valid) -> None:
    # MyAnimeList-Database/1/details.html fetched under a URL without the id: og:url / the canonical link give it
    body = (mal_fixtures / MD / "1/details.html").read_bytes()
    url = "https://myanimelist.net/anime.php?id=one"
    info = valid(parse(url, body, page_type="anime", crawled_at=AT)).items[0]
    assert (info["anime_id"], info["title"]) == (1, "Cowboy Bebop")
    # the same page without them: one clear error
    bare = body.replace(b'<link href="https://myanimelist.net/anime/1/Cowboy_Bebop" rel="canonical"/>', b"")
    bare = bare.replace(b'<meta content="https://myanimelist.net/anime/1/Cowboy_Bebop" property="og:url"/>', b"")
    with pytest.raises(ParseError, match="no anime id in the URL or the page"):
        parse(url, bare, page_type="anime", crawled_at=AT)
