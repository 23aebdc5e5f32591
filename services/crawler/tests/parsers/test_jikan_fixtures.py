"""Every Jikan v4 response in ../shared/mal-fixtures/reactive-jikan, parsed or refused, values asserted.

The responses were trimmed by their author (arrays cut to 1-3 entries, user names anonymised as
USER_1 / USERNAME_1), so counts are small; the URLs are the v4 endpoints they answer (from the
file's "test:source" where present, else from reactive-jikan's client method name).

| page type      | responses (under reactive-jikan/src/test/resources/responses/)                             |
|----------------|---------------------------------------------------------------------------------------------|
| anime          | anime/getAnimeById, getAnimeById_unknowns (unknown enum values), getAnimeRelations          |
| anime_stats    | anime/getAnimeStatistics                                                                    |
| anime_userrecs | anime/getAnimeRecommendations                                                               |
| anime_reviews  | anime/getAnimeReviews                                                                       |
| anime_pics     | anime/getAnimePictures                                                                      |
| profile        | users/getUserProfile, getUserFavorites, getUserStatistics, getUserClubs                     |
| friends        | users/getUserFriends                                                                        |
| history        | users/getUserHistory_anime, getUserHistory_manga (manga entries: no items)                  |
| top_anime      | top/getTopAnime, anime/getAnimeSearch, seasons/getSeason*, schedules/getSchedules (links)   |
| users          | users/getUsersSearch, random/getRandomUsers (links)                                         |
| (refused)      | every other endpoint (characters, people, manga, clubs, news, ...): ParseError, unknown type |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from animerec.crawler import urls
from animerec.crawler.parsers import ParseError, parse

J = "https://api.jikan.moe/v4"
AT = "2022-02-21T00:00:00Z"

# file | URL | page type | status | counts | first item fields | links | next_url
PARSED: list[tuple[str, str, str, str, dict[str, int], dict[str, dict[str, Any]], tuple[str, ...], str | None]] = [
    ("anime/getAnimeById.json", f"{J}/anime/11757", "anime", "ok", {"anime_info": 1, "anime_related": 0},
     {"anime_info": dict(anime_id=11757, title="Sword Art Online", type="TV", source_type="Light novel",
                         num_episodes=25, status="Finished Airing", start_date="2012-07-08", end_date="2012-12-23",
                         season="summer 2012", studios=["A-1 Pictures"],
                         genres=["Action", "Adventure", "Fantasy", "Romance", "Love Polygon", "Video Game", "Shounen"],
                         score=7.2, score_count=1845274, score_rank=2897, popularity_rank=5, members_count=2669774,
                         favorites_count=62703,
                         main_pic="https://cdn.myanimelist.net/images/anime/11/39717l.jpg")}, (), None),
    ("anime/getAnimeById_unknowns.json", f"{J}/anime/11757", "anime", "ok", {"anime_info": 1},
     {"anime_info": dict(type="UNKNOWN TYPE", season=None,
                         genres=["Action", "Adventure", "Fantasy", "Romance", "Game"])},
     (), None),
    ("anime/getAnimeRelations.json", f"{J}/anime/11757/relations", "anime", "ok",
     {"anime_info": 0, "anime_related": 0}, {}, (), None),  # only manga adaptations: no anime relations
    ("anime/getAnimeStatistics.json", f"{J}/anime/11757/statistics", "anime_stats", "ok", {"anime_stats": 1},
     {"anime_stats": dict(anime_id=11757, watching_count=95611, completed_count=2287389, on_hold_count=31504,
                          dropped_count=110880, plan_to_watch_count=143053, total_count=2668437,
                          score_01_count=27658, score_10_count=274569)}, (), None),
    ("anime/getAnimeRecommendations.json", f"{J}/anime/11757/recommendations", "anime_userrecs", "ok",
     {"anime_recommendation": 1},
     {"anime_recommendation": dict(anime_id=11757, recommended_anime_id=17265, num_recommenders=174,
                                   recommendation_url="https://myanimelist.net/recommendations/anime/11757-17265")},
     ("https://myanimelist.net/anime/17265",), None),
    ("anime/getAnimeReviews.json", f"{J}/anime/11757/reviews?page=1", "anime_reviews", "ok", {"anime_review": 1},
     {"anime_review": dict(review_id=138911, anime_id=11757, user_name="USERNAME_1", review_date="2014-04-06",
                           review_num_useful=5216, review_score=4, review_story_score=4, review_animation_score=8,
                           review_sound_score=8, review_character_score=1, review_enjoyment_score=3)},
     ("https://myanimelist.net/profile/USERNAME_1",), None),
    ("anime/getAnimePictures.json", f"{J}/anime/11757/pictures", "anime_pics", "ok", {"anime_picture": 1},
     {"anime_picture": dict(picture_url="https://cdn.myanimelist.net/images/anime/8/36343l.jpg")}, (), None),
    ("users/getUserProfile.json", f"{J}/users/USER_1", "profile", "ok", {"profile": 1},
     {"profile": dict(user_name="USER_1", user_id=6384999, private=False, last_online_date="2022-02-20T00:02:01Z",
                      joined_date="2017-07-09", num_completed=None)}, (), None),
    ("users/getUserFavorites.json", f"{J}/users/USER_1/favorites", "profile", "ok", {"favorite": 1, "profile": 0},
     {"favorite": dict(user_name="USER_1", anime_id=467)}, ("https://myanimelist.net/anime/467",), None),
    ("users/getUserStatistics.json", f"{J}/users/USER_1/statistics", "profile", "ok", {"profile": 1},
     {"profile": dict(num_watching=4, num_completed=3211, num_on_hold=16, num_dropped=1121, num_plan_to_watch=28,
                      num_days=594.5, mean_score=3.62, last_online_date=None)}, (), None),
    ("users/getUserClubs.json", f"{J}/users/USER_1/clubs", "profile", "ok", {"profile": 1},
     {"profile": dict(clubs=[669, 18051])}, (), None),
    ("users/getUserFriends.json", f"{J}/users/USER_2/friends?page=1", "friends", "ok", {"friend": 1},
     {"friend": dict(user_name="USER_2", friend_name="USER_1", friendship_date="2021-03-14T09:13:00Z")},
     ("https://myanimelist.net/profile/USER_1",), None),
    ("users/getUserHistory_anime.json", f"{J}/users/USER_1/history?type=anime", "history", "ok", {"activity": 1},
     {"activity": dict(anime_id=21, episode=570, activity_date="2022-02-17T07:45:00Z")}, (), None),
    ("users/getUserHistory_manga.json", f"{J}/users/USER_1/history?type=manga", "history", "ok", {"activity": 0},
     {}, (), None),
    ("top/getTopAnime.json", f"{J}/top/anime?page=1", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/5114",), "https://api.jikan.moe/v4/top/anime?page=2"),
    ("anime/getAnimeSearch.json", f"{J}/anime?q=naruto&page=2", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/24751",), "https://api.jikan.moe/v4/anime?q=naruto&page=3"),
    ("seasons/getSeason.json", f"{J}/seasons/2019/winter", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/38883",), "https://api.jikan.moe/v4/seasons/2019/winter?page=2"),
    ("seasons/getSeasonNow.json", f"{J}/seasons/now", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/48583",), "https://api.jikan.moe/v4/seasons/now?page=2"),
    ("seasons/getSeasonUpcoming.json", f"{J}/seasons/upcoming", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/44511",), "https://api.jikan.moe/v4/seasons/upcoming?page=2"),
    ("schedules/getSchedules.json", f"{J}/schedules", "top_anime", "ok", {}, {},
     ("https://myanimelist.net/anime/49689",), "https://api.jikan.moe/v4/schedules?page=2"),
    ("users/getUsersSearch.json", f"{J}/users?q=user", "users", "ok", {}, {},
     ("https://myanimelist.net/profile/USER_1",), None),
    ("random/getRandomUsers.json", f"{J}/random/users", "users", "ok", {}, {},
     ("https://myanimelist.net/profile/USER_1",), None),
]

# Endpoints no page type covers: refused by URL with one ParseError.
REFUSED = [
    ("anime/getAnimeCharacters.json", f"{J}/anime/11757/characters"),
    ("anime/getAnimeEpisodeById.json", f"{J}/anime/11757/episodes/1"),
    ("anime/getAnimeEpisodes.json", f"{J}/anime/11757/episodes"),
    ("anime/getAnimeExternal.json", f"{J}/anime/11757/external"),
    ("anime/getAnimeForum.json", f"{J}/anime/11757/forum"),
    ("anime/getAnimeMoreInfo.json", f"{J}/anime/11757/moreinfo"),
    ("anime/getAnimeNews.json", f"{J}/anime/11757/news"),
    ("anime/getAnimeStaff.json", f"{J}/anime/11757/staff"),
    ("anime/getAnimeThemes.json", f"{J}/anime/11757/themes"),
    ("anime/getAnimeUserUpdates.json", f"{J}/anime/11757/userupdates"),
    ("anime/getAnimeVideos.json", f"{J}/anime/11757/videos"),
    ("characters/getCharacterAnime.json", f"{J}/characters/1/anime"),
    ("characters/getCharacterById.json", f"{J}/characters/1"),
    ("characters/getCharacterManga.json", f"{J}/characters/1/manga"),
    ("characters/getCharacterPictures.json", f"{J}/characters/1/pictures"),
    ("characters/getCharacterVoiceActors.json", f"{J}/characters/1/voices"),
    ("characters/getCharactersSearch.json", f"{J}/characters?q=x"),
    ("clubs/getClubMembers.json", f"{J}/clubs/1/members"),
    ("clubs/getClubRelations.json", f"{J}/clubs/1/relations"),
    ("clubs/getClubStaff.json", f"{J}/clubs/1/staff"),
    ("clubs/getClubsById.json", f"{J}/clubs/1"),
    ("clubs/getClubsSearch.json", f"{J}/clubs?q=x"),
    ("genres/getAnimeGenres.json", f"{J}/genres/anime"),
    ("genres/getMangaGenres.json", f"{J}/genres/manga"),
    ("magazines/getMagazines.json", f"{J}/magazines"),
    ("manga/getMangaById.json", f"{J}/manga/1"),
    ("manga/getMangaCharacters.json", f"{J}/manga/1/characters"),
    ("manga/getMangaExternal.json", f"{J}/manga/1/external"),
    ("manga/getMangaMoreInfo.json", f"{J}/manga/1/moreinfo"),
    ("manga/getMangaNews.json", f"{J}/manga/1/news"),
    ("manga/getMangaPictures.json", f"{J}/manga/1/pictures"),
    ("manga/getMangaRecommendations.json", f"{J}/manga/1/recommendations"),
    ("manga/getMangaRelations.json", f"{J}/manga/1/relations"),
    ("manga/getMangaReviews.json", f"{J}/manga/1/reviews"),
    ("manga/getMangaSearch.json", f"{J}/manga?q=x"),
    ("manga/getMangaStatistics.json", f"{J}/manga/1/statistics"),
    ("manga/getMangaTopics.json", f"{J}/manga/1/forum"),
    ("manga/getMangaUserUpdates.json", f"{J}/manga/1/userupdates"),
    ("people/getPeopleSearch.json", f"{J}/people?q=x"),
    ("people/getPersonAnime.json", f"{J}/people/1/anime"),
    ("people/getPersonById.json", f"{J}/people/1"),
    ("people/getPersonManga.json", f"{J}/people/1/manga"),
    ("people/getPersonPictures.json", f"{J}/people/1/pictures"),
    ("people/getPersonVoices.json", f"{J}/people/1/voices"),
    ("producers/getProducers.json", f"{J}/producers"),
    ("random/getRandomAnime.json", f"{J}/random/anime"),
    ("random/getRandomCharacters.json", f"{J}/random/characters"),
    ("random/getRandomManga.json", f"{J}/random/manga"),
    ("random/getRandomPeople.json", f"{J}/random/people"),
    ("recommendations/getRecentAnimeRecommendations.json", f"{J}/recommendations/anime"),
    ("recommendations/getRecentMangaRecommendations.json", f"{J}/recommendations/manga"),
    ("reviews/getRecentAnimeReviews.json", f"{J}/reviews/anime"),
    ("reviews/getRecentMangaReviews.json", f"{J}/reviews/manga"),
    ("seasons/getSeasonsList.json", f"{J}/seasons"),
    ("top/getTopCharacters.json", f"{J}/top/characters"),
    ("top/getTopManga.json", f"{J}/top/manga"),
    ("top/getTopPeople.json", f"{J}/top/people"),
    ("top/getTopReviews.json", f"{J}/top/reviews"),
    ("users/getUserAbout.json", f"{J}/users/USER_1/about"),
    ("users/getUserRecommendations.json", f"{J}/users/USER_1/recommendations"),
    ("users/getUserReviews.json", f"{J}/users/USER_1/reviews"),
    ("users/getUserUpdates.json", f"{J}/users/USER_1/userupdates"),
    ("watch/getWatchPopularEpisodes.json", f"{J}/watch/episodes/popular"),
    ("watch/getWatchPopularPromos.json", f"{J}/watch/promos/popular"),
    ("watch/getWatchRecentEpisodes.json", f"{J}/watch/episodes"),
    ("watch/getWatchRecentPromos.json", f"{J}/watch/promos"),
]


@pytest.fixture(scope="module")
def responses(mal_fixtures: Path) -> Path:
    return mal_fixtures / "reactive-jikan/src/test/resources/responses"


@pytest.mark.parametrize("row", PARSED, ids=lambda r: r[0])
def test_jikan_response(responses: Path, valid, row) -> None:
    path, url, page_type, status, counts, first, links, next_url = row
    assert urls.page_type(url) == page_type
    page = valid(parse(url, (responses / path).read_bytes(), crawled_at=AT))
    assert (page.page_type, page.source, page.status) == (page_type, "jikan", status)
    for item_type, count in counts.items():
        assert sum(i["item_type"] == item_type for i in page.items) == count, item_type
    for item_type, expected in first.items():
        item = next(i for i in page.items if i["item_type"] == item_type)
        assert {k: item[k] for k in expected} == expected
        assert item["source"] == "jikan" and item["source_url"] == url
    assert set(links) <= set(page.links)
    assert page.next_url == next_url
    if page_type in ("top_anime", "users"):
        assert page.items == [] and page.links


@pytest.mark.parametrize(("path", "url"), REFUSED, ids=lambda v: v if v.endswith(".json") else "")
def test_other_endpoints_are_refused(responses: Path, path: str, url: str) -> None:
    with pytest.raises(ValueError, match="unknown page type"):
        urls.page_type(url)
    with pytest.raises(ParseError) as err:
        parse(url, (responses / path).read_bytes(), crawled_at=AT)
    assert err.value.page_type == "unknown" and err.value.url == url


def test_tables_cover_every_response(responses: Path) -> None:
    on_disk = {str(p.relative_to(responses)) for p in responses.rglob("*.json")}
    listed = [r[0] for r in PARSED] + [r[0] for r in REFUSED]
    assert len(listed) == len(set(listed))
    assert on_disk == set(listed)


def test_same_fields_as_mal_html(mal_fixtures: Path, responses: Path) -> None:
    """The Jikan and MAL parsers fill the same anime_info fields for comparable pages."""
    jikan_item = parse(f"{J}/anime/11757", (responses / "anime/getAnimeById.json").read_bytes(),
                       crawled_at=AT).items[0]
    mal_item = parse("https://myanimelist.net/anime/1", (mal_fixtures / "MyAnimeList-Database/data/html/1/"
                                                         "details.html").read_bytes(), crawled_at=AT).items[0]
    assert jikan_item.keys() == mal_item.keys()
    assert {k for k, v in jikan_item.items() if v is not None} == {k for k, v in mal_item.items() if v is not None}
