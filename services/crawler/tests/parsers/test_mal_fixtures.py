"""Every real MAL page in ../shared/mal-fixtures, parsed, with the values the page shows asserted.

Which fixture covers which page type (paths under mal-fixtures/; MD = MyAnimeList-Database/data/html,
MS = mal-scraper/tests/mal_scraper, JK = jikan/test/fixtures_extracted, AQ = aqua/src/test/resources/parsing):

| page type      | fixtures (layout year)                                                                        |
|----------------|-----------------------------------------------------------------------------------------------|
| anime          | MD/1,5/details.html (2021, prettified); JK/JikanTest_it_gets_anime (2018); AQ/gintama (2018); |
|                | MS/auto_responses/* 9 pages (2016-17); MS/manual_responses/unknown_end_date, unknown_episodes, |
|                | anime_unknown_aired (2016-17)                                                                  |
| anime_stats    | MD/1,5/stats.html (2021); JK/AnimeStats.html (2018)                                            |
| anime_userrecs | MD/1,5/recomendations.html (2021)                                                              |
| anime_reviews  | MD/1/reviews_1..22.html, MD/5/reviews_1..3.html (2021)                                         |
| anime_pics     | MD/1,5/pictures.html (2021); JK/AnimePicturesParserTest.html (2018)                            |
| anime_clubs    | no real fixture exists: covered by the mirror contract test and test_edge_cases                |
| profile        | AQ/profile.html, profile_private.html (2018); JK/ProfileParserTest.html (2018);                |
|                | MS/manual_responses/user_last_online_{date,hours,mins,now,yesterday}, user_test_page (2017),   |
|                | user_does_not_exist (404)                                                                      |
| friends        | JK/FriendsParserTest.0,1,2.html (2018; .2 = past the end)                                      |
| history        | JK/HistoryParserTest.html (2018)                                                               |
| top_anime      | JK/TopAnimeParserTest.0,1.html (2018)                                                          |
| users          | AQ/users.html (2017); MS/manual_responses/users_discovery (2016)                                |
| animelist      | AQ/anime_load.json (300 entries); MS/manual_responses/user_anime_list_{small,tags} (pages),    |
|                | user_anime_list_end, user_anime_list_tags_end (empty), user_anime_list_forbidden (private)     |
| (not parsed)   | AQ/k-on.main.html, manga_load.json (manga), malappinfo.*.xml (API removed 2018),               |
|                | MS/manual_responses/garbled_* (synthetic junk), MD/*/staff.html (characters page):             |
|                | each asserted to be refused with a clear error in test_unsupported_and_garbled_are_refused     |
| (copies)       | AQ/*.gz are byte-identical gzip originals of the decompressed files: test_gzip_copies;         |
|                | MD/1.zip, 5.zip hold the same pages as MD/1/, MD/5/: test_zip_originals                        |
"""

from __future__ import annotations

import gzip
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from animerec.crawler import urls
from animerec.crawler.parsers import ParseError, parse

MD = "MyAnimeList-Database/data/html"
MS = "mal-scraper/tests/mal_scraper"
JK = "jikan/test/fixtures_extracted"
AQ = "aqua/src/test/resources/parsing"


@dataclass(frozen=True)
class Case:
    path: str
    url: str
    page_type: str
    crawled_at: str                       # the capture date (relative times count from it)
    status: str = "ok"
    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)    # item_type -> fields of its first item
    links: tuple[str, ...] = ()           # must be among page.links
    next_url: str | None = None

    @property
    def id(self) -> str:
        return self.path.rsplit("/", 2)[-2] + "/" + self.path.rsplit("/", 1)[-1][:40]


def anime_case(path, url, at, info, related=0, **kw) -> Case:
    return Case(path, url, "anime", at, counts={"anime_info": 1, "anime_related": related}, first={"anime_info": info},
                **kw)


COWBOY_2021 = dict(anime_id=1, title="Cowboy Bebop", type="TV", source_type="Original", num_episodes=26,
                   status="Finished Airing", start_date="1998-04-03", end_date="1999-04-24", season="spring 1998",
                   studios=["Sunrise"], genres=["Action", "Adventure", "Comedy", "Drama", "Sci-Fi", "Space"],
                   score=8.78, score_count=610881, score_rank=28, popularity_rank=39, members_count=1251960,
                   favorites_count=61970, main_pic="https://cdn.myanimelist.net/images/anime/4/19644.jpg")

CASES = [
    # ---- anime main pages
    anime_case(f"{MD}/1/details.html", "https://myanimelist.net/anime/1", "2021-02-20T00:00:00Z", COWBOY_2021,
               related=3, links=("https://myanimelist.net/anime/5", "https://myanimelist.net/anime/17205",
                                 "https://myanimelist.net/anime/4037")),
    anime_case(f"{MD}/5/details.html", "https://myanimelist.net/anime/5", "2021-02-19T00:00:00Z",
               dict(title="Cowboy Bebop: Tengoku no Tobira", type="Movie", num_episodes=1, start_date="2001-09-01",
                    end_date=None, season=None, studios=["Bones"], score=8.39, score_count=158477, score_rank=159,
                    popularity_rank=518, members_count=273145, favorites_count=1174), related=1),
    anime_case(f"{JK}/JikanTest_it_gets_anime.html", "https://myanimelist.net/anime/21/", "2018-06-29T18:22:17Z",
               dict(title="One Piece", type="TV", source_type="Manga", num_episodes=None, status="Currently Airing",
                    start_date="1999-10-20", end_date=None, season="fall 1999", studios=["Toei Animation"],
                    genres=["Action", "Adventure", "Comedy", "Super Power", "Drama", "Fantasy", "Shounen"],
                    score=8.54, score_count=428921, score_rank=89, popularity_rank=37), related=43),
    anime_case(f"{AQ}/gintama.main.html", "https://myanimelist.net/anime/918/Gintama", "2018-12-03T00:00:00Z",
               dict(title="Gintama", num_episodes=201, start_date="2006-04-04", end_date="2010-03-25",
                    season="spring 2006", score=9.0, score_count=152046, score_rank=13, popularity_rank=94),
               related=11),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS8x", "http://myanimelist.net/anime/1",
               "2016-05-28T00:00:00Z", dict(title="Cowboy Bebop", score=8.83, score_count=232183, score_rank=22,
                                            popularity_rank=31, members_count=415050, favorites_count=26287),
               related=3),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS81", "http://myanimelist.net/anime/5",
               "2017-05-02T00:00:00Z", dict(title="Cowboy Bebop: Tengoku no Tobira", type="Movie", score=8.4),
               related=1),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS80NA==",
               "http://myanimelist.net/anime/44", "2017-05-02T00:00:00Z",
               dict(title="Rurouni Kenshin: Meiji Kenkaku Romantan - Tsuioku-hen", type="OVA", num_episodes=4,
                    start_date="1999-02-20", end_date="1999-09-22", studios=["Studio Deen"], score_rank=25),
               related=1),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS81NzQ=",
               "http://myanimelist.net/anime/574", "2017-05-02T00:00:00Z",
               dict(title="Rean no Tsubasa", type="ONA", source_type="Novel", score=5.87, score_count=748), related=1),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS83MzA=",
               "http://myanimelist.net/anime/730", "2017-05-02T00:00:00Z",
               dict(title="Houkago no Shokuinshitsu", score_rank=None, studios=[], popularity_rank=4301)),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS8xMTkw",
               "http://myanimelist.net/anime/1190", "2017-05-02T00:00:00Z",
               dict(title="Prince of Tennis: A Day on Survival Mountain", source_type=None, start_date="2003-01-01"),
               related=1),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS8xNQ==",
               "http://myanimelist.net/anime/15", "2017-05-02T00:00:00Z",
               dict(title="Eyeshield 21", num_episodes=145, season="spring 2005", studios=["Studio Gallop"]),
               related=2),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS8zNjI0",
               "http://myanimelist.net/anime/3624", "2017-05-05T00:00:00Z",
               dict(title="Seimei no Kagaku: Micro Patrol", start_date="1986-01-01", studios=["Eiken"]), related=1),
    anime_case(f"{MS}/auto_responses/Z2V0Ois6aHR0cDovL215YW5pbWVsaXN0Lm5ldC9hbmltZS8zNjQy",
               "http://myanimelist.net/anime/3642", "2017-05-05T00:00:00Z",
               dict(title="Shina Dark: Kuroki Tsuki no Ou to Souheki no Tsuki no Himegimi", type="Music",
                    studios=["Shaft"])),
    anime_case(f"{MS}/manual_responses/unknown_end_date", "http://myanimelist.net/anime/32105", "2016-05-30T00:00:00Z",
               dict(title="Sousei no Onmyouji", num_episodes=None, end_date=None, status="Currently Airing",
                    start_date="2016-04-06", score_rank=3011)),
    anime_case(f"{MS}/manual_responses/unknown_episodes", "http://myanimelist.net/anime/32105", "2016-05-28T00:00:00Z",
               dict(title="Sousei no Onmyouji", num_episodes=None, end_date=None)),
    anime_case(f"{MS}/manual_responses/anime_unknown_aired", "http://myanimelist.net/anime/35102",
               "2017-05-06T00:00:00Z", dict(title="Hinamatsuri", start_date=None, end_date=None, score=None,
                                            type="OVA", genres=["Historical", "Kids"])),
    # ---- stats
    Case(f"{MD}/1/stats.html", "https://myanimelist.net/anime/1/_/stats", "anime_stats", "2021-02-20T00:00:00Z",
         counts={"anime_stats": 1}, first={"anime_stats": dict(
             anime_id=1, watching_count=105808, completed_count=718161, on_hold_count=71513, dropped_count=26678,
             plan_to_watch_count=329800, total_count=1251960, score_10_count=229170, score_01_count=1580)}),
    Case(f"{MD}/5/stats.html", "https://myanimelist.net/anime/5/_/stats", "anime_stats", "2021-02-19T00:00:00Z",
         counts={"anime_stats": 1}, first={"anime_stats": dict(anime_id=5, total_count=273145, score_09_count=49201)}),
    Case(f"{JK}/AnimeStats.html", "https://myanimelist.net/anime/37405/jikan/stats", "anime_stats",
         "2018-07-09T17:19:38Z", counts={"anime_stats": 1}, first={"anime_stats": dict(
             anime_id=37405, watching_count=834, completed_count=3, on_hold_count=258, dropped_count=80,
             plan_to_watch_count=643, score_10_count=126, score_02_count=2)}),
    # ---- userrecs
    Case(f"{MD}/5/recomendations.html", "https://myanimelist.net/anime/5/_/userrecs", "anime_userrecs",
         "2021-02-19T00:00:00Z", counts={"anime_recommendation": 9}, first={"anime_recommendation": dict(
             anime_id=5, recommended_anime_id=4106, num_recommenders=3,
             recommendation_url="https://myanimelist.net/recommendations/anime/5-4106")},
         links=("https://myanimelist.net/anime/4106", "https://myanimelist.net/profile/AironicallyHuman")),
    Case(f"{MD}/1/recomendations.html", "https://myanimelist.net/anime/1/_/userrecs", "anime_userrecs",
         "2021-02-20T00:00:00Z", counts={"anime_recommendation": 146},
         first={"anime_recommendation": dict(recommended_anime_id=205, num_recommenders=93)}),
    # ---- reviews (p=1 in detail; the other pages in test_every_review_page)
    Case(f"{MD}/5/reviews_1.html", "https://myanimelist.net/anime/5/_/reviews?p=1", "anime_reviews",
         "2021-02-19T00:00:00Z", counts={"anime_review": 20}, first={"anime_review": dict(
             review_id=9379, anime_id=5, user_name="TheLlama", review_date="2008-11-10", review_num_useful=211,
             review_score=8, review_story_score=8, review_animation_score=10, review_sound_score=9,
             review_character_score=8, review_enjoyment_score=9)},
         links=("https://myanimelist.net/profile/TheLlama",),
         next_url="https://myanimelist.net/anime/5/_/reviews?p=2"),
    Case(f"{MD}/5/reviews_3.html", "https://myanimelist.net/anime/5/_/reviews?p=3", "anime_reviews",
         "2021-02-19T00:00:00Z", counts={"anime_review": 7},
         first={"anime_review": dict(review_id=14130, user_name="deralte", review_date="2009-04-13")}),
    Case(f"{MD}/1/reviews_22.html", "https://myanimelist.net/anime/1/_/reviews?p=22", "anime_reviews",
         "2021-02-20T00:00:00Z", counts={"anime_review": 9},
         first={"anime_review": dict(review_id=362776, user_name="CrackisBae", review_score=10)}),
    # ---- pictures
    Case(f"{MD}/1/pictures.html", "https://myanimelist.net/anime/1/_/pics", "anime_pics", "2021-02-20T00:00:00Z",
         counts={"anime_picture": 13},
         first={"anime_picture": dict(anime_id=1, picture_url="https://cdn.myanimelist.net/images/anime/7/3791l.jpg")}),
    Case(f"{MD}/5/pictures.html", "https://myanimelist.net/anime/5/_/pics", "anime_pics", "2021-02-19T00:00:00Z",
         counts={"anime_picture": 7}),
    Case(f"{JK}/AnimePicturesParserTest.html", "https://myanimelist.net/anime/1/jikan/pics", "anime_pics",
         "2018-07-11T15:06:42Z", counts={"anime_picture": 10}, first={"anime_picture": dict(
             picture_url="https://myanimelist.cdn-dena.com/images/anime/7/3791l.jpg")}),
    # ---- profiles (last online in every format)
    Case(f"{AQ}/profile.html", "https://myanimelist.net/profile/mattia_y", "profile", "2018-08-25T12:00:00Z",
         counts={"profile": 1, "favorite": 0}, first={"profile": dict(
             user_name="mattia_y", user_id=5621220, private=False, last_online_date="2018-08-25T11:44:00Z",
             joined_date="2016-08-13", num_watching=11, num_completed=294, num_on_hold=0, num_dropped=39,
             num_plan_to_watch=216, num_days=80.6, mean_score=7.12, clubs=[])},
         links=("https://myanimelist.net/anime/35849",)),
    Case(f"{AQ}/profile_private.html", "https://myanimelist.net/profile/clarity", "profile", "2018-08-27T00:00:00Z",
         status="private", counts={"profile": 1}, first={"profile": dict(
             user_name="clarity", user_id=5661231, private=True, last_online_date="2018-04-04T09:20:00Z",
             joined_date="2016-08-30", num_watching=9, num_completed=131, mean_score=6.82)}),
    Case(f"{JK}/ProfileParserTest.html", "https://myanimelist.net/profile/sandshark", "profile",
         "2018-06-29T18:22:37Z", status="private", counts={"profile": 1, "favorite": 5}, first={
             "profile": dict(user_name="sandshark", private=True, last_online_date="2018-06-28T06:37:00Z",
                             joined_date="2014-02-26", num_completed=460, num_days=141.4),
             "favorite": dict(user_name="sandshark", anime_id=43)}),
    Case(f"{MS}/manual_responses/user_last_online_now", "https://myanimelist.net/profile/Ichigo_Shiba", "profile",
         "2017-05-06T12:00:00Z", counts={"profile": 1, "favorite": 10},
         first={"profile": dict(last_online_date="2017-05-06T12:00:00Z", joined_date="2015-07-14", num_watching=20)}),
    Case(f"{MS}/manual_responses/user_last_online_mins", "https://myanimelist.net/profile/El_Anciano", "profile",
         "2017-05-06T12:00:00Z", counts={"profile": 1},
         first={"profile": dict(last_online_date="2017-05-06T11:37:00Z", mean_score=9.41)}),
    Case(f"{MS}/manual_responses/user_last_online_hours", "https://myanimelist.net/profile/snip-snip", "profile",
         "2017-05-06T12:00:00Z", counts={"profile": 1, "favorite": 9},
         first={"profile": dict(last_online_date="2017-05-06T06:00:00Z", num_days=107.4)}),
    Case(f"{MS}/manual_responses/user_last_online_yesterday", "https://myanimelist.net/profile/Nyanloveanimes",
         "profile", "2017-05-06T12:00:00Z", counts={"profile": 1, "favorite": 1},
         first={"profile": dict(last_online_date="2017-05-05T09:01:00Z", user_id=5898764)}),
    Case(f"{MS}/manual_responses/user_last_online_date", "https://myanimelist.net/profile/Elizi", "profile",
         "2017-05-06T12:00:00Z", counts={"profile": 1, "favorite": 6},
         first={"profile": dict(last_online_date="2017-05-04T08:09:00Z", joined_date="2014-10-04")}),
    Case(f"{MS}/manual_responses/user_test_page", "https://myanimelist.net/profile/SparkleBunnies", "profile",
         "2017-05-06T12:00:00Z", counts={"profile": 1, "favorite": 1},
         first={"profile": dict(last_online_date="2017-05-06T02:00:00Z", num_completed=129)}),
    Case(f"{MS}/manual_responses/user_does_not_exist", "https://myanimelist.net/profile/asdghiuhunircg", "profile",
         "2017-05-06T00:00:00Z", status="not_found", counts={"profile": 0}),
    # ---- friends
    Case(f"{JK}/FriendsParserTest.0.html", "https://myanimelist.net/profile/morshuwarrior/friends", "friends",
         "2018-07-02T15:54:18Z", counts={"friend": 100}, first={"friend": dict(
             user_name="morshuwarrior", friend_name="Moune-Chan", friendship_date="2017-09-24T06:31:00Z")},
         next_url="https://myanimelist.net/profile/morshuwarrior/friends?p=2"),
    Case(f"{JK}/FriendsParserTest.1.html", "https://myanimelist.net/profile/morshuwarrior/friends?offset=100",
         "friends", "2018-07-02T15:56:15Z", counts={"friend": 100},
         first={"friend": dict(friend_name="sword123", friendship_date=None)},
         next_url="https://myanimelist.net/profile/morshuwarrior/friends?offset=200"),
    Case(f"{JK}/FriendsParserTest.2.html", "https://myanimelist.net/profile/morshuwarrior/friends?offset=10000",
         "friends", "2018-07-02T15:57:07Z", status="empty", counts={"friend": 0}),
    # ---- history
    Case(f"{JK}/HistoryParserTest.html", "https://myanimelist.net/history/nekomata1037/", "history",
         "2018-07-23T21:39:20Z", counts={"activity": 17}, first={"activity": dict(
             user_name="nekomata1037", anime_id=35413, episode=12, activity_date="2018-07-23T20:39:20Z")},
         links=("https://myanimelist.net/anime/35983",)),
    # ---- discovery
    Case(f"{JK}/TopAnimeParserTest.0.html", "https://myanimelist.net/topanime.php", "top_anime",
         "2018-07-08T19:44:57Z", links=("https://myanimelist.net/anime/5114", "https://myanimelist.net/anime/32281"),
         next_url="https://myanimelist.net/topanime.php?limit=50"),
    Case(f"{JK}/TopAnimeParserTest.1.html", "https://myanimelist.net/topanime.php?limit=0", "top_anime",
         "2018-07-08T20:44:52Z", links=("https://myanimelist.net/anime/5114",),
         next_url="https://myanimelist.net/topanime.php?limit=50"),
    Case(f"{AQ}/users.html", "https://myanimelist.net/users.php", "users", "2017-10-03T00:00:00Z",
         links=("https://myanimelist.net/profile/AomineAnime", "https://myanimelist.net/profile/Nolur")),
    Case(f"{MS}/manual_responses/users_discovery", "https://myanimelist.net/users.php", "users",
         "2016-06-12T00:00:00Z", links=("https://myanimelist.net/profile/0ldboy",)),
    # ---- animelist load.json
    Case(f"{AQ}/anime_load.json", "https://myanimelist.net/animelist/mattia_y/load.json?offset=0&status=7",
         "animelist", "2018-12-03T00:00:00Z", counts={"animelist_entry": 300}, first={"animelist_entry": dict(
             user_name="mattia_y", anime_id=232, anime_title="Cardcaptor Sakura", status="watching", score=None,
             progress=45, last_interaction_date="2018-03-10T00:00:00Z")},
         links=("https://myanimelist.net/anime/232",),
         next_url="https://myanimelist.net/animelist/mattia_y/load.json?offset=300&status=7"),
    Case(f"{MS}/manual_responses/user_anime_list_small",
         "https://myanimelist.net/animelist/someone/load.json?offset=0&status=7", "animelist", "2016-10-08T00:00:00Z",
         counts={"animelist_entry": 158}, first={"animelist_entry": dict(
             anime_id=11843, anime_title="Danshi Koukousei no Nichijou", status="watching", progress=9)}),
    Case(f"{MS}/manual_responses/user_anime_list_tags",
         "https://myanimelist.net/animelist/someone/load.json?offset=0&status=7", "animelist", "2017-05-06T00:00:00Z",
         counts={"animelist_entry": 263}, first={"animelist_entry": dict(
             anime_id=33475, progress=5, last_interaction_date="2017-04-12T00:00:00Z")}),
    Case(f"{MS}/manual_responses/user_anime_list_end",
         "https://myanimelist.net/animelist/someone/load.json?offset=300&status=7", "animelist", "2016-10-08T00:00:00Z",
         status="empty", counts={"animelist_entry": 0}),
    Case(f"{MS}/manual_responses/user_anime_list_tags_end",
         "https://myanimelist.net/animelist/someone/load.json?offset=300&status=7", "animelist", "2017-05-06T00:00:00Z",
         status="empty", counts={"animelist_entry": 0}),
    Case(f"{MS}/manual_responses/user_anime_list_forbidden",
         "https://myanimelist.net/animelist/someone/load.json?offset=0&status=7", "animelist", "2016-10-08T00:00:00Z",
         status="private", counts={"animelist_entry": 0}),
]

REVIEW_PAGES = [(f"{MD}/1/reviews_{p}.html", 1, p) for p in range(1, 23)] + \
               [(f"{MD}/5/reviews_{p}.html", 5, p) for p in range(1, 4)]

# Real files that are not pages of a type we parse, each with the error it must give.
REFUSED = [
    (f"{AQ}/k-on.main.html", "https://myanimelist.net/manga/1/K-On", None),
    (f"{AQ}/manga_load.json", "https://myanimelist.net/mangalist/mattia_y/load.json?offset=0&status=7", None),
    (f"{AQ}/malappinfo.anime.xml", "https://myanimelist.net/malappinfo.php?u=mattia_y&status=all&type=anime", None),
    (f"{AQ}/malappinfo.manga.xml", "https://myanimelist.net/malappinfo.php?u=mattia_y&status=all&type=manga", None),
    (f"{MD}/1/staff.html", "https://myanimelist.net/anime/1/_/characters", None),
    (f"{MD}/5/staff.html", "https://myanimelist.net/anime/5/_/characters", None),
    # synthetic junk bodies, parsed as the page type their test named
    (f"{MS}/manual_responses/garbled_anime_page", "https://myanimelist.net/anime/1", "anime"),
    (f"{MS}/manual_responses/garbled_user_page", "https://myanimelist.net/profile/someone", "profile"),
    (f"{MS}/manual_responses/garbled_user_discovery_page", "https://myanimelist.net/users.php", "users"),
    # a real manga page forced through the anime parser has no anime structure either
    (f"{AQ}/k-on.main.html", "https://myanimelist.net/anime/1", "anime"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_real_page(mal_fixtures: Path, valid, case: Case) -> None:
    body = (mal_fixtures / case.path).read_bytes()
    assert urls.page_type(case.url) == case.page_type
    page = valid(parse(case.url, body, crawled_at=case.crawled_at))
    assert (page.page_type, page.source, page.status) == (case.page_type, "mal", case.status)
    for item_type, count in case.counts.items():
        assert sum(i["item_type"] == item_type for i in page.items) == count, item_type
    for item_type, expected in case.first.items():
        item = next(i for i in page.items if i["item_type"] == item_type)
        assert {k: item[k] for k in expected} == expected
        assert item["source_url"] == case.url and item["crawled_at"] == case.crawled_at
    for link in case.links:
        assert link in page.links
    assert len(page.links) == len(set(page.links))
    assert all(link.startswith(("https://myanimelist.net/anime/", "https://myanimelist.net/profile/"))
               for link in page.links)
    assert page.next_url == case.next_url
    if case.page_type in ("top_anime", "users"):
        assert page.items == [] and len(page.links) >= 20


@pytest.mark.parametrize(("path", "anime_id", "p"), REVIEW_PAGES, ids=lambda v: str(v).rsplit("/", 1)[-1])
def test_every_review_page(mal_fixtures: Path, valid, path: str, anime_id: int, p: int) -> None:
    url = f"https://myanimelist.net/anime/{anime_id}/_/reviews?p={p}"
    page = valid(parse(url, (mal_fixtures / path).read_bytes(), crawled_at="2021-02-20T00:00:00Z"))
    reviews = page.items
    assert reviews and all(r["anime_id"] == anime_id for r in reviews)
    assert len({r["review_id"] for r in reviews}) == len(reviews)
    # every 2021 review shows a date, a helpful count and the six scores
    for r in reviews:
        assert r["review_date"] and r["review_num_useful"] is not None
        assert all(r[k] is not None for k in ("review_score", "review_story_score", "review_enjoyment_score"))
        assert r["text"] and len(r["text"]) > 100
    full = len(reviews) == 20
    assert page.next_url == (f"https://myanimelist.net/anime/{anime_id}/_/reviews?p={p + 1}" if full else None)


@pytest.mark.parametrize(("path", "url", "forced"), REFUSED, ids=lambda v: str(v).rsplit("/", 1)[-1][:30])
def test_unsupported_and_garbled_are_refused(mal_fixtures: Path, path: str, url: str, forced: str | None) -> None:
    with pytest.raises(ParseError) as err:
        parse(url, (mal_fixtures / path).read_bytes(), page_type=forced, crawled_at="2018-01-01T00:00:00Z")
    assert err.value.url == url and err.value.page_type == (forced or "unknown")
    assert url in str(err.value)


def test_gzip_copies(mal_fixtures: Path) -> None:
    """aqua stores each page gzipped too: the originals are the same bytes as the copies parsed above."""
    copies = sorted((mal_fixtures / AQ).glob("*.gz"))
    assert len(copies) == 9
    for gz in copies:
        assert gzip.decompress(gz.read_bytes()) == gz.with_suffix("").read_bytes(), gz.name


def test_zip_originals(mal_fixtures: Path) -> None:
    """MyAnimeList-Database ships each anime's pages zipped: the members are the files parsed above."""
    for anime_id in (1, 5):
        with zipfile.ZipFile(mal_fixtures / MD / f"{anime_id}.zip") as archive:
            names = archive.namelist()
            assert "details.html" in names and "stats.html" in names
            for name in names:
                assert archive.read(name) == (mal_fixtures / MD / str(anime_id) / name).read_bytes(), name


def test_every_fixture_is_used(mal_fixtures: Path) -> None:
    """Each file under mal-fixtures is covered by a table in this module or in test_jikan_fixtures."""
    used = {c.path for c in CASES} | {p for p, _, _ in REVIEW_PAGES} | {p for p, _, _ in REFUSED}
    used |= {str(p.relative_to(mal_fixtures)) for p in (mal_fixtures / AQ).glob("*.gz")}
    used |= {f"{MD}/1.zip", f"{MD}/5.zip"}
    # the Jikan table lives in its own module; read it as text (tests are not importable packages)
    jikan_table = Path(__file__).with_name("test_jikan_fixtures.py").read_text()
    missing = []
    for path in sorted(mal_fixtures.rglob("*")):
        rel = str(path.relative_to(mal_fixtures))
        if path.is_dir() or path.name == "MANIFEST.txt":
            continue
        if rel.startswith("reactive-jikan/"):
            if f'"{rel.removeprefix("reactive-jikan/src/test/resources/responses/")}"' not in jikan_table:
                missing.append(rel)
        elif rel not in used:
            missing.append(rel)
    assert missing == []
