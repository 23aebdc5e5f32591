"""Unknown users: ask the crawler service for their profile (rate-limited, de-duplicated, in the background)
and, once their list is in Redis, recommend from the similar-anime lists of what they completed recently."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from animerec.common.recstore import AsyncRecStore, user_field

from .metrics import ApiMetrics
from .settings import ApiSettings

log = logging.getLogger(__name__)

PROFILE_URL = "https://myanimelist.net/profile/{}"
# Crawl states a recommendation answer reports for an unknown user.
REQUESTED, PENDING, DONE, FAILED, RATE_LIMITED, DISABLED, NOT_FOUND = (
    "requested", "pending", "done", "failed", "rate_limited", "disabled", "not_found")


def not_found(payload: Any) -> bool:
    """True when the crawler says, definitively, that the profile does not exist (MAL answered 404)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("results"), list):
        return False
    results = [r for r in payload["results"] if isinstance(r, Mapping)]
    return bool(results) and all(r.get("status") == "not_found" and not r.get("items") for r in results)


class CrawlError(RuntimeError):
    """The crawler answered, but not with the user's profile."""


def crawled_items(payload: Any) -> list[Mapping[str, Any]]:
    """The flat items of a /crawl answer: a list, or an object carrying them under "items"."""
    items: Any
    if isinstance(payload, list):
        items = payload
    elif isinstance(payload, Mapping):
        items = payload.get("items")
        if items is None and isinstance(payload.get("results"), list):
            items = [i for result in payload.get("results") or [] if isinstance(result, Mapping)
                     for i in result.get("items") or []]
    else:
        items = None
    if not isinstance(items, list):
        raise CrawlError(f"unexpected /crawl answer: {type(payload).__name__} without items")
    return [i for i in items if isinstance(i, Mapping)]


# A crawled list entry: (anime_id, status, score or None, last interaction date or None).
Entry = tuple[int, str, Any, Any]


def user_list(user: str, items: Iterable[Mapping[str, Any]]) -> tuple[bool, bool, list[Entry]]:
    """(profile seen, profile private, list entries) of `user` among crawled items."""
    name = user_field(user)
    found = private = False
    entries: dict[int, Entry] = {}
    for item in items:
        if user_field(str(item.get("user_name", ""))) != name:
            continue
        kind = item.get("item_type")
        if kind == "profile":
            found = True
            private = bool(item.get("private"))
        elif kind == "animelist_entry" and isinstance(item.get("anime_id"), int):
            entries[item["anime_id"]] = (item["anime_id"], str(item.get("status") or ""), item.get("score"),
                                         item.get("last_interaction_date"))
    return found or bool(entries), private, list(entries.values())


def recent_completed(entries: Iterable[Sequence[Any]], limit: int) -> list[tuple[int, float]]:
    """(anime_id, weight) of the most recently completed anime; watching ones if nothing is completed."""
    rows = [e for e in entries if e[1] == "completed"] or [e for e in entries if e[1] == "watching"]
    # newest interaction first, entries without a date after dated ones, better scores first among equals
    rows.sort(key=lambda e: (e[3] or "", e[2] or 0), reverse=True)
    # a user's own score says how much an anime should pull its neighbours in; unscored counts as 7/10
    return [(int(e[0]), (e[2] or 7) / 10) for e in rows[:limit]]


def blend(seeds: list[tuple[int, float]], similar: Mapping[int, list[tuple[int, float]]],
          exclude: set[int]) -> list[tuple[int, float, int]]:
    """Candidates ranked by summed weighted similarity: (anime_id, score, the seed that pulled it in most)."""
    totals: dict[int, float] = {}
    best: dict[int, tuple[float, int]] = {}
    for seed, weight in seeds:
        for anime_id, sim in similar.get(seed, []):
            if anime_id in exclude:
                continue
            contribution = sim * weight
            totals[anime_id] = totals.get(anime_id, 0.0) + contribution
            held = best.get(anime_id)  # any score range: the first contribution is the best so far
            if held is None or contribution > held[0]:
                best[anime_id] = (contribution, seed)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(anime_id, score, best[anime_id][1]) for anime_id, score in ranked]


class CrawlRequester:
    """Starts background crawls of unknown users through the crawler service's POST /crawl."""

    def __init__(self, settings: ApiSettings, redis: Any, store: AsyncRecStore, metrics: ApiMetrics,
                 prefix: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.redis = redis
        self.store = store
        self.metrics = metrics
        self.prefix = prefix
        self.url = settings.crawler_url.rstrip("/") + "/crawl" if settings.crawler_url else None
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(settings.crawl_concurrency)
        self.tasks: set[asyncio.Task[None]] = set()

    def state_key(self, user: str) -> str:
        return f"{self.prefix}api:crawl:{user_field(user)}"

    async def request(self, user: str) -> str:
        """Ask for a crawl of `user` unless one is pending, recently done or failed, or the rate is used up."""
        url = self.url
        if url is None:
            return DISABLED
        key = self.state_key(user)
        state = await self.redis.get(key)
        if state:
            return PENDING if state == REQUESTED else state
        minute = int(time.time() // 60)
        rate_key = f"{self.prefix}api:crawl-rate:{minute}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(rate_key)
        pipe.expire(rate_key, 120)
        used, _ = await pipe.execute()
        if used > self.settings.crawl_rate_per_minute:
            self.metrics.crawls.labels(RATE_LIMITED).inc()
            return RATE_LIMITED
        if not await self.redis.set(key, REQUESTED, nx=True, ex=self.settings.crawl_dedupe_seconds):
            return PENDING  # another request (or replica) got there first
        self.metrics.crawls.labels(REQUESTED).inc()
        task = asyncio.create_task(self._crawl(url, user), name=f"crawl-{user}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return REQUESTED

    async def _crawl(self, url: str, user: str) -> None:
        key = self.state_key(user)
        async with self._slots:
            try:
                if self._client is None:
                    self._client = httpx.AsyncClient(transport=self._transport,
                                                     timeout=self.settings.crawl_timeout_seconds)
                response = await self._client.post(url, json={"urls": [PROFILE_URL.format(user)], "wait": True})
                response.raise_for_status()
                payload = response.json()
                if not_found(payload):
                    await self.redis.set(key, NOT_FOUND, ex=self.settings.crawl_dedupe_seconds)
                    self.metrics.crawls.labels(NOT_FOUND).inc()
                    log.info("on-demand crawl: no such MyAnimeList user", extra={"user": user})
                    return
                found, private, entries = user_list(user, crawled_items(payload))
                if not found:
                    raise CrawlError("the crawler's answer has no profile or list items for this user")
                await self.store.put_user_list(user, entries, ttl_seconds=self.settings.fresh_list_ttl_seconds)
                await self.redis.set(key, DONE, ex=self.settings.crawl_dedupe_seconds)
                self.metrics.crawls.labels(DONE).inc()
                log.info("on-demand crawl done", extra={"user": user, "entries": len(entries), "private": private})
            except Exception as exc:  # any failure: remember it briefly so we neither hammer nor give up
                self.metrics.crawls.labels(FAILED).inc()
                log.warning("on-demand crawl failed", extra={"user": user, "error": f"{type(exc).__name__}: {exc}"})
                try:
                    await self.redis.set(key, FAILED, ex=self.settings.crawl_retry_seconds)
                except Exception:  # Redis gone too: the dedupe key simply expires
                    log.warning("could not record the failed crawl", extra={"user": user})

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for crawls in flight (tests, shutdown)."""
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
