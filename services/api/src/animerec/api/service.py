"""What the routes answer: recommendations, anime cards, similar anime, trending; all from one published version."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from animerec.common.recstore import AsyncRecStore, AsyncRecView

from . import coldstart
from .apimetrics import ApiMetrics
from .coldstart import CrawlRequester
from .errors import ApiError
from .settings import ApiSettings

log = logging.getLogger(__name__)
MAL_ANIME_URL = "https://myanimelist.net/anime/{}"

MESSAGES = {
    coldstart.REQUESTED: "We don't know {user} yet: their MyAnimeList profile is being fetched. "
                         "Meanwhile, here are {kind} anime.",
    coldstart.PENDING: "{user}'s MyAnimeList profile is still being fetched. Meanwhile, here are {kind} anime.",
    coldstart.RATE_LIMITED: "We don't know {user} yet and are fetching many profiles right now; try again in a "
                            "few minutes. Meanwhile, here are {kind} anime.",
    coldstart.FAILED: "We could not fetch {user}'s MyAnimeList profile; we will try again later. "
                      "Meanwhile, here are {kind} anime.",
    coldstart.DISABLED: "We don't know {user} yet. Here are {kind} anime instead.",
    coldstart.DONE: "{user}'s list is empty, private or has nothing completed yet, so here are {kind} anime.",
}


def card_fields(anime_id: int, card: dict[str, Any] | None) -> dict[str, Any]:
    card = card or {}
    genres = card.get("genres") or []
    if isinstance(genres, str):
        genres = [g.strip() for g in genres.split(",") if g.strip()]
    return {
        "anime_id": anime_id,
        "title": card.get("title"),
        "picture": card.get("main_pic") or card.get("picture"),
        "score": card.get("score"),
        "genres": [str(g) for g in genres],
        "url": card.get("url") or MAL_ANIME_URL.format(anime_id),
        "type": card.get("type"),
    }


class CardCache:
    """Cards of the live version in process memory, already shaped as response fields (they never change
    within a version). A new version's cards are loaded whole in the background (HSCAN batches), so requests
    rarely miss; once every card is in, a miss means the anime has no card and costs no round trip.
    `on_loaded` runs after each complete background load (start-up settles the heap itself): the app uses it
    to move the cache out of the garbage collector's way (full collections over tens of thousands of cached
    dicts were the API's tail latency)."""

    def __init__(self, size: int, metrics: ApiMetrics, on_loaded: Callable[[], None] | None = None) -> None:
        self.size = size
        self.metrics = metrics
        self.on_loaded = on_loaded
        self.version: str | None = None
        self.cards: dict[int, dict[str, Any] | None] = {}
        self.complete = False  # every card of `version` is in `cards`
        self._loading: asyncio.Task | None = None
        self._hits, self._misses = metrics.cache.labels("cards", "hit"), metrics.cache.labels("cards", "miss")

    def _switch(self, view: AsyncRecView, *, background: bool) -> None:
        self.version, self.cards, self.complete = view.version, {}, False
        if self._loading is not None:
            self._loading.cancel()
            self._loading = None
        if background and self.size:
            self._loading = asyncio.get_running_loop().create_task(self._load_logged(view))

    async def _load_logged(self, view: AsyncRecView) -> None:
        try:
            await self.load(view)
            if self.complete and view.version == self.version and self.on_loaded is not None:
                self.on_loaded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed warm-up only means more misses: requests fetch what they need
            log.warning("loading the card cache failed", extra={"version": view.version,
                                                                "error": f"{type(exc).__name__}: {exc}"})

    async def load(self, view: AsyncRecView) -> int:
        """Load every card of `view`'s version (up to `size`); returns how many are cached."""
        if view.version != self.version:
            self._switch(view, background=False)
        async for batch in view.scan_cards():
            if view.version != self.version:
                return 0  # a newer version took over meanwhile
            room = self.size - len(self.cards)
            for anime_id, card in batch.items():
                if anime_id not in self.cards:
                    if room <= 0:
                        return len(self.cards)  # the cache is full: misses go to Redis
                    self.cards[anime_id] = card_fields(anime_id, card)
                    room -= 1
            await asyncio.sleep(0)  # let requests run between batches
        if view.version == self.version:
            self.complete = True
        return len(self.cards)

    async def get(self, view: AsyncRecView, ids: list[int]) -> dict[int, dict[str, Any] | None]:
        if view.version != self.version:
            self._switch(view, background=True)
        cards = self.cards
        found = {i: cards[i] for i in ids if i in cards}
        missing = [i for i in ids if i not in found]
        if found:
            self._hits.inc(len(found))
        if not missing:
            return found
        if self.complete:  # the whole version is here: the rest have no card
            self._hits.inc(len(missing))
            found.update((i, None) for i in missing)
            return found
        self._misses.inc(len(missing))
        fetched = await view.cards(missing)
        for i in missing:
            card = fetched.get(i)
            found[i] = None if card is None else card_fields(i, card)
        if self.size and view.version == self.version:
            for i in missing:
                if len(self.cards) >= self.size:
                    break
                self.cards[i] = found[i]
        return found


class Recommender:
    def __init__(self, settings: ApiSettings, store: AsyncRecStore, metrics: ApiMetrics,
                 crawler: CrawlRequester, rng: random.Random | None = None,
                 on_cards_loaded: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.crawler = crawler
        self.card_cache = CardCache(settings.card_cache_size, metrics, on_cards_loaded)
        self.rng = rng or random.Random()
        self._recs_hit = metrics.cache.labels("user_recs", "hit")

    async def warm(self) -> int:
        """Load the live version's cards (start-up, before the first request); returns how many."""
        return await self.store.read(self.card_cache.load)

    async def _items(self, view: AsyncRecView, rows: list[tuple[int, float | None, str | None]]
                     ) -> list[dict[str, Any]]:
        cards = await self.card_cache.get(view, [r[0] for r in rows])
        items = []
        for rank, (anime_id, score, reason) in enumerate(rows, start=1):
            card = cards.get(anime_id) or card_fields(anime_id, None)
            items.append({**card, "rank": rank, "rec_score": None if score is None else round(score, 6),
                          "reason": reason})
        return items

    def _sample(self, rows: list, sample: int | None) -> list:
        if sample is None or sample >= len(rows):
            return rows
        picked = sorted(self.rng.sample(range(len(rows)), sample))
        return [rows[i] for i in picked]

    async def recommendations(self, user: str, n: int, sample: int | None) -> dict[str, Any]:
        return await self.store.read(lambda view: self._recommendations(view, user, n, sample))

    async def _recommendations(self, view: AsyncRecView, user: str, n: int, sample: int | None) -> dict[str, Any]:
        # Published lists never hold anime of the user's list: `RecStore.publish` drops them.
        recs = await view.user_recs(user, n)
        answer: dict[str, Any] = {"user": user, "version": view.version, "n": n, "sample": sample}
        if recs is not None:
            self._recs_hit.inc()
            rows = [(r.anime_id, r.score, r.reason) for r in recs]
            ranked = await self._items(view, self._sample(rows, sample))
            return {**answer, "source": "model", "fallback": None, "crawl": None, "message": None, "items": ranked}
        self.metrics.cache.labels("user_recs", "miss").inc()

        fresh = await self.store.user_list(user)
        crawl = coldstart.DONE
        if fresh is not None:
            self.metrics.cache.labels("fresh_list", "hit").inc()
            entries = fresh.get("entries") or []
            listed = {int(e[0]) for e in entries}
            seeds = coldstart.recent_completed(entries, self.settings.recent_completed)
            similar = await view.similar_many([s for s, _ in seeds])
            blended = coldstart.blend(seeds, similar, listed)[:n]
            if blended:
                self.metrics.fallbacks.labels("recent_completed").inc()
                titles = await self.card_cache.get(view, sorted({seed for _, _, seed in blended}))
                rows = [(a, s, f"because you completed {(titles.get(seed) or {}).get('title') or f'anime {seed}'}")
                        for a, s, seed in blended]
                items = await self._items(view, self._sample(rows, sample))
                return {**answer, "source": "recent_completed", "fallback": None, "crawl": coldstart.DONE,
                        "message": f"Based on what {user} completed recently; full recommendations come with the "
                                   "next model run.", "items": items}
        else:
            self.metrics.cache.labels("fresh_list", "miss").inc()
            listed = set()
            crawl = await self.crawler.request(user)

        popular, trending = await view.lists()
        lists = {"popular": popular, "trending": trending}
        prefer = self.settings.fallback
        other = "trending" if prefer == "popular" else "popular"
        kind = prefer if lists[prefer] or not lists[other] else other
        self.metrics.fallbacks.labels(kind).inc()
        rows = [(a, None, None) for a in lists[kind] if a not in listed][:n]
        items = await self._items(view, self._sample(rows, sample))
        return {**answer, "source": "fallback", "fallback": kind, "crawl": crawl,
                "message": MESSAGES[crawl].format(user=user, kind=kind), "items": items}

    async def anime(self, anime_id: int) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            card = (await self.card_cache.get(view, [anime_id]))[anime_id]
            if card is None:
                raise ApiError(404, "unknown_anime", f"no anime {anime_id} in the published catalogue")
            return {"version": view.version, **card}
        return await self.store.read(read)

    async def similar(self, anime_id: int, n: int) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            similar = await view.similar(anime_id, n)
            if similar is None:
                if (await self.card_cache.get(view, [anime_id]))[anime_id] is None:
                    raise ApiError(404, "unknown_anime", f"no anime {anime_id} in the published catalogue")
                similar = []
            items = await self._items(view, [(a, s, None) for a, s in similar])
            return {"anime_id": anime_id, "version": view.version, "n": n, "items": items}
        return await self.store.read(read)

    async def trending(self, n: int) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            popular, trending = await view.lists()
            source = "trending" if trending else "popular"
            rows = [(a, None, None) for a in (trending or popular)[:n]]
            return {"version": view.version, "n": n, "source": source, "items": await self._items(view, rows)}
        return await self.store.read(read)
