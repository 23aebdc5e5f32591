"""What the routes answer: recommendations, anime cards, similar anime, trending; all from one published version."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from animerec.common.recstore import AsyncRecStore, AsyncRecView, VersionGone

from . import coldstart, foldin
from .coldstart import CrawlRequester
from .errors import ApiError
from .filters import DEFAULT, Filters
from .metrics import ApiMetrics
from .settings import ApiSettings
from .tokens import Signer

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
    coldstart.NOT_FOUND: "There is no such MyAnimeList user as {user}. Here are {kind} anime instead.",
}
EMPTY = "Nothing matches these filters; try fewer or wider ones."
AIRING = {"currently airing": "airing", "finished airing": "finished", "not yet aired": "upcoming"}
Row = tuple[int, float | None, str | None]


def card_fields(anime_id: int, card: dict[str, Any] | None) -> dict[str, Any]:
    card = card or {}
    genres = card.get("genres") or []
    if isinstance(genres, str):
        genres = [g.strip() for g in genres.split(",") if g.strip()]
    start = card.get("start_date") or card.get("aired_from")
    year = int(start[:4]) if isinstance(start, str) and start[:4].isdigit() else card.get("year")
    episodes = card.get("num_episodes", card.get("episodes"))
    rating = str(card.get("age_rating") or "")
    return {
        "anime_id": anime_id,
        "title": card.get("title"),
        "picture": card.get("main_pic") or card.get("picture"),
        "score": card.get("score"),
        "genres": [str(g) for g in genres],
        "url": card.get("url") or MAL_ANIME_URL.format(anime_id),
        "type": card.get("type"),
        "episodes": episodes if isinstance(episodes, int) and episodes > 0 else None,
        "year": year if isinstance(year, int) else None,
        "status": AIRING.get(str(card.get("status") or "").lower()),
        # MAL's Rx rating; the Hentai genre carries it on MAL (catalogues without ratings still know it)
        "adult": rating.lower().startswith("rx") or any(str(g).lower() == "hentai" for g in genres),
        # anime of one franchise share it (published cards carry it; older ones: the anime is its own)
        "franchise": franchise if isinstance(franchise := card.get("franchise"), int) else anime_id,
    }


def diverse_sample(franchises: Sequence[int], k: int, per_franchise: int, rng: random.Random) -> list[int]:
    """k positions drawn at random from a ranked list, in rank order, at most `per_franchise` of one franchise
    while the list has enough others (0: no cap). A user who loves one long series would otherwise get four
    of its movies among five picks."""
    order = rng.sample(range(len(franchises)), len(franchises))
    if per_franchise <= 0:
        return sorted(order[:k])
    chosen: list[int] = []
    left: list[int] = []
    taken: dict[int, int] = {}
    for i in order:
        if len(chosen) < k and taken.get(franchises[i], 0) < per_franchise:
            chosen.append(i)
            taken[franchises[i]] = taken.get(franchises[i], 0) + 1
        else:
            left.append(i)
    return sorted(chosen + left[:k - len(chosen)])


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
        self._loading: asyncio.Task[None] | None = None
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
                 on_cards_loaded: Callable[[], None] | None = None, signer: Signer | None = None) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.crawler = crawler
        self.signer = signer
        self.card_cache = CardCache(settings.card_cache_size, metrics, on_cards_loaded)
        self.rng = rng or random.Random()
        self._recs_hit = metrics.cache.labels("user_recs", "hit")
        self._online: dict[tuple[str, str, str], Any] = {}
        # item-item weights of one version (they never change within a version)
        self._nb_version: str | None = None
        self._nb: foldin.NeighbourIndex | None = None
        self._nb_lock = asyncio.Lock()

    async def _index(self, view: AsyncRecView) -> foldin.NeighbourIndex:
        """The version's item-item weights, loaded whole on first use (start-up warms it; one load at a time)."""
        if self._nb_version == view.version and self._nb is not None:
            return self._nb
        async with self._nb_lock:
            if self._nb_version != view.version or self._nb is None:
                rows: dict[int, tuple[list[int], list[float]]] = {}
                async for batch in view.scan_neighbours():
                    rows.update(batch)
                    await asyncio.sleep(0)  # let requests run between batches
                self._nb, self._nb_version = foldin.NeighbourIndex(rows), view.version
        return self._nb

    async def warm(self) -> int:
        """Load the live version's cards and fold-in weights (start-up, before the first request); returns how
        many cards."""
        count = await self.store.read(self.card_cache.load)
        await self.store.read(self._index)
        return count

    def count(self, version: str, source: str, event: str, amount: int = 1) -> None:
        """Online evaluation: impressions, clicks, likes and dislikes by published version and source."""
        key = (version, source, event)
        child = self._online.get(key)
        if child is None:
            child = self._online[key] = self.metrics.online.labels(*key)
        child.inc(amount)

    async def _select(self, view: AsyncRecView, rows: Sequence[Row], n: int, flt: Filters,
                      hidden: set[int]) -> list[tuple[int, Row, dict[str, Any]]]:
        """The first n rows that pass the filters and are not hidden: (rank, row, card), rank counted after
        filtering (the position in the list the user could see)."""
        rows = [r for r in rows if r[0] not in hidden]
        picked: list[tuple[int, Row, dict[str, Any]]] = []
        start = 0
        while len(picked) < n and start < len(rows):
            chunk = rows[start:start + max(n * 2, 20)]  # cards come from the in-process cache: a chunk is cheap
            start += len(chunk)
            cards = await self.card_cache.get(view, [r[0] for r in chunk])
            for row in chunk:
                card = cards.get(row[0])
                if flt.accepts(card):
                    picked.append((len(picked) + 1, row, card or card_fields(row[0], None)))
                    if len(picked) == n:
                        break
        return picked

    def _items(self, picked: list[tuple[int, Row, dict[str, Any]]], sample: int | None) -> list[dict[str, Any]]:
        if sample is not None and sample < len(picked):
            franchises = [card["franchise"] for _, _, card in picked]
            chosen = diverse_sample(franchises, sample, self.settings.sample_per_franchise, self.rng)
            picked = [picked[i] for i in chosen]
        return [{**card, "rank": rank, "rec_score": None if score is None else round(score, 6), "reason": reason}
                for rank, (_, score, reason), card in picked]

    def ab_version(self, user: str) -> str | None:
        """The A/B version this user is served from (None: the live one), by a stable hash of the name."""
        s = self.settings
        if not s.ab_version or s.ab_share <= 0:
            return None
        bucket = int.from_bytes(hashlib.sha256(user.lower().encode()).digest()[:8], "big") / 2**64
        return s.ab_version if bucket < s.ab_share else None

    async def recommendations(self, user: str, n: int, sample: int | None, flt: Filters = DEFAULT
                              ) -> dict[str, Any]:
        pinned = self.ab_version(user)
        if pinned is not None:
            try:
                return await self._recommendations(await self.store.view(pinned), user, n, sample, flt)
            except VersionGone:
                log.warning("A/B version gone: serving the live one", extra={"version": pinned})
        return await self.store.read(lambda view: self._recommendations(view, user, n, sample, flt))

    def _answer(self, view: AsyncRecView, user: str, n: int, sample: int | None, flt: Filters, source: str,
                items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        kind = extra.get("fallback") or source
        self.count(view.version, kind, "impression", len(items))
        answer = {"user": user, "version": view.version, "n": n, "sample": sample, "source": source,
                  "fallback": None, "crawl": None, "message": None, "filters": flt.active, **extra, "items": items}
        if not items and answer["message"] is None:
            answer["message"] = EMPTY
        if self.signer is not None:
            answer["feedback_token"] = self.signer.issue(user, view.version, kind)
        return answer

    async def _recommendations(self, view: AsyncRecView, user: str, n: int, sample: int | None,
                               flt: Filters) -> dict[str, Any]:
        # Published lists never hold anime of the user's list: `RecStore.publish` drops them.
        want = self.settings.candidates
        recs, hidden_ids, liked_ids = await view.user_recs_and_feedback(user, want)
        hidden = set(hidden_ids)
        if recs is not None:
            self._recs_hit.inc()
            picked = await self._select(view, [(r.anime_id, r.score, r.reason) for r in recs], n, flt, hidden)
            return self._answer(view, user, n, sample, flt, "model", self._items(picked, sample))
        self.metrics.cache.labels("user_recs", "miss").inc()

        fresh = await self.store.user_list(user)
        crawl = coldstart.DONE
        if fresh is not None:
            self.metrics.cache.labels("fresh_list", "hit").inc()
            entries = fresh.get("entries") or []
        else:
            self.metrics.cache.labels("fresh_list", "miss").inc()
            entries = []
            crawl = await self.crawler.request(user)
        listed = {int(e[0]) for e in entries}
        exclude = listed | hidden
        lists: tuple[list[int], list[int]] | None = None
        last_kind = "popular"
        for source in self.settings.sources:
            if source == "fold_in" and entries:
                rows = await self._fold_in(view, entries, liked_ids, exclude, want)
                if rows:
                    picked = await self._select(view, rows, n, flt, hidden)
                    if picked:
                        self.metrics.fallbacks.labels("fold_in").inc()
                        return self._answer(view, user, n, sample, flt, "fold_in", self._items(picked, sample),
                                            crawl=coldstart.DONE, message=None)
            elif source == "recent_completed" and entries:
                seeds = coldstart.recent_completed(entries, self.settings.recent_completed)
                similar = await view.similar_many([s for s, _ in seeds])
                blended = coldstart.blend(seeds, similar, exclude)[:want]
                if blended:
                    titles = await self.card_cache.get(view, sorted({seed for _, _, seed in blended}))
                    rows = [(a, sc, f"because you completed {(titles.get(seed) or {}).get('title') or f'anime {seed}'}")
                            for a, sc, seed in blended]
                    picked = await self._select(view, rows, n, flt, hidden)
                    if picked:
                        self.metrics.fallbacks.labels("recent_completed").inc()
                        return self._answer(
                            view, user, n, sample, flt, "recent_completed", self._items(picked, sample),
                            crawl=coldstart.DONE, message=f"Based on what {user} completed recently; full "
                                                          "recommendations come with the next model run.")
            elif source in ("trending", "popular"):
                if lists is None:
                    lists = await view.lists()
                ids = lists[0] if source == "popular" else lists[1]
                last_kind = source
                if not ids:
                    continue
                picked = await self._select(view, [(a, None, None) for a in ids if a not in exclude], n, flt, hidden)
                if picked or flt is DEFAULT:
                    return self._fallback(view, user, n, sample, flt, source, crawl, picked)
        return self._fallback(view, user, n, sample, flt, last_kind, crawl, [])

    def _fallback(self, view: AsyncRecView, user: str, n: int, sample: int | None, flt: Filters, kind: str,
                  crawl: str, picked: list[tuple[int, Row, dict[str, Any]]]) -> dict[str, Any]:
        self.metrics.fallbacks.labels(kind).inc()
        message = MESSAGES[crawl].format(user=user, kind=kind)
        if not picked and flt is not DEFAULT:
            message = f"{message} {EMPTY}"
        return self._answer(view, user, n, sample, flt, "fallback", self._items(picked, sample), fallback=kind,
                            crawl=crawl, message=message)

    async def _fold_in(self, view: AsyncRecView, entries: list[Any], liked: list[int], exclude: set[int],
                       want: int) -> list[Row]:
        """The user's list (newest entries first, at most fold_in_max_entries) and likes, times the version's
        item-item weights."""
        newest = sorted(entries, key=lambda e: (e[3] if len(e) > 3 and e[3] else ""), reverse=True)
        weights = foldin.seed_weights(newest[:self.settings.fold_in_max_entries], liked)
        if not weights:
            return []
        index = await self._index(view)
        scored = index.score(weights, exclude, want)
        if not scored:
            return []
        seeds = sorted({seed for _, _, seed in scored})
        titles = await self.card_cache.get(view, seeds)
        liked_set = set(liked)

        def reason(seed: int) -> str:
            title = (titles.get(seed) or {}).get("title") or f"anime {seed}"
            return f"because you liked {title}" if seed in liked_set else f"because you watched {title}"
        return [(a, sc, reason(seed)) for a, sc, seed in scored]

    async def anime(self, anime_id: int) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            card = (await self.card_cache.get(view, [anime_id]))[anime_id]
            if card is None:
                raise ApiError(404, "unknown_anime", f"no anime {anime_id} in the published catalogue")
            return {"version": view.version, **card}
        return await self.store.read(read)

    async def similar(self, anime_id: int, n: int, flt: Filters = DEFAULT) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            similar = await view.similar(anime_id, self.settings.candidates)
            if similar is None:
                if (await self.card_cache.get(view, [anime_id]))[anime_id] is None:
                    raise ApiError(404, "unknown_anime", f"no anime {anime_id} in the published catalogue")
                similar = []
            picked = await self._select(view, [(a, s, None) for a, s in similar], n, flt, set())
            items = self._items(picked, None)
            return {"anime_id": anime_id, "version": view.version, "n": n, "filters": flt.active, "items": items,
                    "message": None if items else EMPTY}
        return await self.store.read(read)

    async def trending(self, n: int, flt: Filters = DEFAULT) -> dict[str, Any]:
        async def read(view: AsyncRecView) -> dict[str, Any]:
            popular, trending = await view.lists()
            source = "trending" if trending else "popular"
            picked = await self._select(view, [(a, None, None) for a in (trending or popular)], n, flt, set())
            items = self._items(picked, None)
            return {"version": view.version, "n": n, "source": source, "filters": flt.active, "items": items,
                    "message": None if items else EMPTY}
        return await self.store.read(read)
