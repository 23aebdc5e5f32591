"""A synthetic but schema-valid world of anime and users, as the crawler's item messages.

Tests and benchmarks use it instead of live crawls: every message validates against its event
schema in schemas/events, and the world has the shapes the ETL cleans (sequel chains, airing and
not-yet-aired anime, re-crawls where the latest crawl must win, one-sided friendships).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from animerec.common.timefmt import iso

MAL = "https://myanimelist.net"
STATUSES = ("watching", "completed", "on_hold", "dropped", "plan_to_watch")
AIRING = ("Finished Airing", "Currently Airing", "Not yet aired")
RELATIONS = ("Sequel", "Side story", "Alternative version", "Spin-off")
_iso = partial(iso, timespec="seconds")


@dataclass(frozen=True)
class EventWorld:
    anime: int = 20
    users: int = 10
    entries_per_user: int = 8
    seed: int = 7
    recrawls: float = 0.2          # share of list entries crawled twice (the later crawl must win)
    start: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    def user_name(self, i: int) -> str:
        return f"user_{i:05d}"

    def airing(self, anime_id: int) -> str:
        # Mostly finished; every 7th airing, every 11th not yet aired.
        if anime_id % 11 == 0:
            return AIRING[2]
        if anime_id % 7 == 0:
            return AIRING[1]
        return AIRING[0]

    def episodes(self, anime_id: int) -> int | None:
        return None if self.airing(anime_id) == AIRING[2] else 12 + anime_id % 14


def _crawl(kind: str, url: str, at: datetime) -> dict:
    return {"item_type": kind, "crawled_at": _iso(at), "source": "mal", "source_url": url}


def anime_messages(w: EventWorld, rng: random.Random) -> Iterator[tuple[str, dict]]:
    for a in range(1, w.anime + 1):
        at = w.start + timedelta(minutes=a)
        url = f"{MAL}/anime/{a}/Anime_{a}"
        status = w.airing(a)
        yield str(a), {**_crawl("anime_info", url, at), "anime_id": a, "anime_url": url, "title": f"Anime {a}",
                       "synopsis": f"Story number {a}.", "main_pic": f"https://cdn.myanimelist.net/images/anime/{a}.jpg",
                       "type": "TV", "source_type": "Manga", "num_episodes": w.episodes(a), "status": status,
                       "start_date": None if status == AIRING[2] else "2020-04-01",
                       "end_date": "2020-06-30" if status == AIRING[0] else None, "season": "spring 2020",
                       "studios": ["Bones"], "genres": rng.sample(["Action", "Drama", "Comedy", "Romance"], 2),
                       "score": round(rng.uniform(5, 9.5), 2), "score_count": rng.randint(10, 10000),
                       "score_rank": a, "popularity_rank": a, "members_count": rng.randint(100, 100000),
                       "favorites_count": rng.randint(0, 1000)}
        yield str(a), {**_crawl("anime_stats", f"{url}/stats", at), "anime_id": a, "watching_count": 10,
                       "completed_count": 50, "on_hold_count": 3, "dropped_count": 2, "plan_to_watch_count": 20,
                       "total_count": 85, **{f"score_{s:02d}_count": s for s in range(1, 11)}}
        yield str(a), {**_crawl("anime_picture", f"{url}/pics", at), "anime_id": a,
                       "picture_url": f"https://cdn.myanimelist.net/images/anime/{a}/1.jpg"}
        yield str(a), {**_crawl("anime_club", f"{url}/clubs", at), "anime_id": a, "club_id": 100 + a % 5,
                       "club_name": f"Club {a % 5}", "members_count": 40}
        # Franchises of four: a -> a+1 is a sequel inside each block (1-2-3-4, 5-6-7-8, ...).
        if a % 4 and a < w.anime:
            yield str(a), {**_crawl("anime_related", url, at), "anime_id": a, "related_anime_id": a + 1,
                           "relation_type": "Sequel"}
        if a + 5 <= w.anime and a % 3 == 0:
            yield str(a), {**_crawl("anime_recommendation", f"{url}/userrecs", at), "anime_id": a,
                           "recommended_anime_id": a + 5,
                           "recommendation_url": f"{MAL}/recommendations/anime/{a}-{a + 5}",
                           "num_recommenders": rng.randint(1, 30)}


def user_messages(w: EventWorld, rng: random.Random) -> Iterator[tuple[str, dict]]:
    for u in range(w.users):
        name = w.user_name(u)
        at = w.start + timedelta(hours=1, minutes=u)
        url = f"{MAL}/profile/{name}"
        yield name, {**_crawl("profile", url, at), "user_name": name, "user_id": None, "user_url": url,
                     "private": False, "last_online_date": _iso(at), "joined_date": "2015-05-05",
                     "num_watching": 1, "num_completed": 5, "num_on_hold": 0, "num_dropped": 0,
                     "num_plan_to_watch": 2, "num_days": 12.5, "mean_score": 7.5, "clubs": [100 + u % 5]}
        picks = rng.sample(range(1, w.anime + 1), min(w.entries_per_user, w.anime))
        list_url = f"{MAL}/animelist/{name}/load.json?offset=0&status=7"
        for a in picks:
            eps = w.episodes(a)
            airing = w.airing(a)
            if airing == AIRING[2]:
                status, progress, score = "plan_to_watch", None, None
            else:
                status = rng.choice(STATUSES[:4] if airing == AIRING[0] else ("watching", "on_hold", "dropped"))
                progress = eps if status == "completed" else rng.randint(0, (eps or 12) - 1)
                score = rng.choice([None, *range(1, 11)])
            entry = {**_crawl("animelist_entry", list_url, at), "user_name": name, "anime_id": a,
                     "anime_title": f"Anime {a}", "status": status, "score": score, "progress": progress,
                     "last_interaction_date": _iso(at - timedelta(days=3))}
            if rng.random() < w.recrawls:
                # An older crawl with other values: the ETL must keep the later one above.
                old = {**entry, "crawled_at": _iso(at - timedelta(days=30)), "status": "plan_to_watch",
                       "score": None, "progress": None}
                yield name, old
            yield name, entry
        if picks:
            yield name, {**_crawl("favorite", url, at), "user_name": name, "anime_id": picks[0]}
            yield name, {**_crawl("activity", f"{MAL}/history/{name}/anime", at), "user_name": name,
                         "anime_id": picks[0], "episode": 1, "activity_date": _iso(at - timedelta(days=1))}
        if w.users > 1:
            friend = w.user_name((u + 1) % w.users)
            if friend != name:  # one direction only: the ETL makes friendships symmetric
                yield name, {**_crawl("friend", f"{url}/friends", at), "user_name": name, "friend_name": friend,
                             "friendship_date": _iso(at - timedelta(days=100))}
        if picks and u % 3 == 0 and w.airing(picks[-1]) != AIRING[2]:
            yield str(picks[-1]), {**_crawl("anime_review", f"{MAL}/anime/{picks[-1]}/x/reviews", at),
                                   "review_id": 1000 + u, "anime_id": picks[-1], "user_name": name,
                                   "review_date": "2026-01-01", "review_num_useful": 3, "review_score": 8,
                                   "review_story_score": 8, "review_animation_score": 7, "review_sound_score": 9,
                                   "review_character_score": 8, "review_enjoyment_score": 9, "text": "Good."}


def messages(w: EventWorld) -> list[tuple[str, dict]]:
    """(key, item message) pairs of the whole world, anime first."""
    rng = random.Random(w.seed)
    return [*anime_messages(w, rng), *user_messages(w, rng)]


def feedback_messages(w: EventWorld, n: int) -> list[tuple[str, dict]]:
    rng = random.Random(w.seed + 1)
    out = []
    for _ in range(n):
        name = w.user_name(rng.randrange(w.users))
        out.append((name, {"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "user_name": name,
                           "anime_id": rng.randint(1, w.anime), "action": rng.choice(["like", "dislike", "click"]),
                           "context": {"surface": "web", "position": rng.randint(0, 9)},
                           "created_at": _iso(w.start + timedelta(days=1))}))
    return out


def sized(total: int, seed: int = 7) -> EventWorld:
    """A world with about `total` item messages (for backlogs of a given size)."""
    per_user = 8
    users = max(2, total // (per_user + 4))
    return EventWorld(anime=max(20, users // 10), users=users, entries_per_user=per_user, seed=seed)
