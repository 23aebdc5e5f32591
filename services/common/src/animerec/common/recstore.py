"""Published recommendations in Redis: one versioned layout shared by `animerec publish` and the API.

A publish writes a complete new *version* next to the live one, then switches the live pointer and
schedules the previous version's expiry in one MULTI/EXEC transaction. Every read goes through one
version (`AsyncRecStore.view()`), so a request never mixes two publishes.

Key layout (``P`` is the configured prefix, e.g. ``animerec:``; ``V`` a version id such as
``20261120T100000Z-3f9a``; user names are lower-cased because MAL names are case-insensitive)::

    P rec:live                  string  the live version id
    P rec:history               list    recent version ids, newest first (at most 20)
    P rec:v:V:meta              hash    version, published_at, users, similar, cards, popular, trending, and
                                        user_model/user_run, similar_model/anime_run: what made each part
    P rec:v:V:users             hash    user name -> JSON [[anime_id, score, reason|null], ...] best first
    P rec:v:V:seen              hash    user name -> JSON [anime_id, ...]  never to be recommended to the user
                                        (publish drops them from the user's list)
    P rec:v:V:similar           hash    anime_id  -> JSON [[anime_id, score], ...] best first
    P rec:v:V:cards             hash    anime_id  -> JSON {title, main_pic, score, genres, url, type, ...}
    P rec:v:V:neighbours        hash    anime_id  -> JSON [[anime_id, ...], [weight, ...]] item-item weights of
                                        the published model's data, for fold-in of users outside the batch
    P rec:v:V:popular           string  JSON [anime_id, ...] best first
    P rec:v:V:trending          string  JSON [anime_id, ...] best first
    P rec:fresh:list:USER       string  JSON user list crawled on demand (outside versions, with a TTL):
                                        {"fetched_at": ..., "entries": [[anime_id, status, score|null,
                                        last_interaction_date|null], ...]}
    P fb:hidden:USER            zset    anime_id -> unix time of a verified "not for me" (bounded, expiring)
    P fb:liked:USER             zset    anime_id -> unix time of a verified like (bounded, expiring)
    P rec:stream:trending:meta  hash    the streaming job's last window: window_end_ms, updated_at, version, items
                                        (its list replaces the live version's `trending`)
    P rec:stream:trending:genres hash   genre -> JSON [anime_id, ...] best first, of that window

A version's keys carry a staging TTL while they are written, so a publish that dies half-way leaves
nothing behind for long; the switch removes that TTL from the new version and gives the previous one
`grace_seconds` to live, so readers that picked it up just before the switch can finish. The meta hash
is the version's marker: a view whose meta hash is gone raises `VersionGone` and the caller re-reads
the live pointer (`AsyncRecStore.read` does that itself). The asyncio reader's hot
paths skip the marker when they found data (finding it proves the version is there) and check it on a miss.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import redis

try:  # a faster JSON decoder where the service ships one (the API does); the layout is plain JSON either way
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the installed extras
    _loads = json.loads

HASHES = ("users", "seen", "similar", "cards", "neighbours")
STRINGS = ("popular", "trending")
PARTS = ("meta", *HASHES, *STRINGS)
HISTORY = 20
STAGING_TTL = 24 * 3600   # a publish taking longer than a day is broken anyway
CHUNK = 500               # hash fields per HSET (20 HSETs per pipeline round trip)
T = TypeVar("T")


class Rec(NamedTuple):
    anime_id: int
    score: float
    reason: str | None = None


class VersionGone(LookupError):
    """The version a view was bound to has expired (or never existed)."""


class NoLiveVersion(LookupError):
    """Nothing has been published yet."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def user_field(user: str) -> str:
    return user.lower()


def decode_recs(raw: str | None, n: int | None = None) -> list[Rec] | None:
    return None if raw is None else [Rec(int(a), float(s), r) for a, s, r in _loads(raw)[:n]]


def decode_seen(raw: str | None) -> set[int]:
    return set(_loads(raw)) if raw else set()


def decode_similar(raw: str | None, n: int | None = None) -> list[tuple[int, float]] | None:
    return None if raw is None else [(int(a), float(s)) for a, s in _loads(raw)[:n]]


def decode_neighbours(raw: str | None) -> tuple[list[int], list[float]] | None:
    return None if raw is None else _neighbour_weights(raw)


def _neighbour_weights(raw: str) -> tuple[list[int], list[float]]:
    ids, weights = _loads(raw)
    return ids, weights


def new_version() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def _chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Keys:
    """The key names of the layout above, for a given prefix."""

    prefix: str
    redis: Any  # redis.Redis (publishing) or redis.asyncio.Redis (the API's reader), decoding responses

    @property
    def live_key(self) -> str:
        return f"{self.prefix}rec:live"

    @property
    def history_key(self) -> str:
        return f"{self.prefix}rec:history"

    def version_key(self, version: str, part: str) -> str:
        return f"{self.prefix}rec:v:{version}:{part}"

    def trending_key(self, part: str) -> str:
        """The streaming job's trending `part` ("meta" or "genres"), outside versions."""
        return f"{self.prefix}rec:stream:trending:{part}"

    def fresh_list_key(self, user: str) -> str:
        return f"{self.prefix}rec:fresh:list:{user_field(user)}"

    def feedback_key(self, user: str, kind: str) -> str:
        """The user's verified feedback of `kind` ("hidden" or "liked"), outside versions."""
        return f"{self.prefix}fb:{kind}:{user_field(user)}"


def fresh_list_payload(entries: Iterable[Sequence[Any]]) -> str:
    rows = [[int(e[0]), str(e[1]), None if len(e) < 3 or e[2] is None else int(e[2]),
             e[3] if len(e) > 3 else None] for e in entries]
    return _dumps({"fetched_at": datetime.now(UTC).isoformat(timespec="seconds"), "entries": rows})


class RecStore(Keys):
    """Publish recommendations (`animerec publish`). `redis_client` must decode responses
    (`animerec.common.cache.client`)."""

    def __init__(self, redis_client: redis.Redis, prefix: str = "animerec:") -> None:
        self.redis = redis_client
        self.prefix = prefix

    # publishing
    def publish(self, user_recs: Mapping[str, Iterable[Sequence[Any]]],
                similar: Mapping[int, Iterable[Sequence[Any]]],
                cards: Mapping[int, Mapping[str, Any]],
                popular: Sequence[int], trending: Sequence[int],
                seen: Mapping[str, Iterable[int]],
                version: str | None = None, grace_seconds: int = 3600,
                neighbours: Mapping[int, Iterable[Sequence[Any]]] | None = None,
                provenance: Mapping[str, str] | None = None) -> str:
        """Write a whole new version, then make it live atomically; returns the version id.

        `provenance` (e.g. user_model, user_run, similar_model, anime_run) goes into the version's meta hash, so
        every published list says which model and run made it.

        `user_recs` values are (anime_id, score) or (anime_id, score, reason) best first; anime in the
        user's `seen` set are dropped here so no reader can return them. `neighbours` (anime_id -> (other anime,
        weight) pairs) are the item-item weights the API folds users outside the batch in with.
        """
        if grace_seconds < 0:
            raise ValueError("grace_seconds must be >= 0")
        version = version or new_version()
        if not version or any(c in version for c in ": \n") or len(version) > 64:
            raise ValueError(f"bad version id {version!r} (no ':' or spaces, at most 64 characters)")
        if version == self.redis.get(self.live_key) or self.redis.exists(self.version_key(version, "meta")):
            raise ValueError(f"version {version} already exists; publish under a new id")

        seen_sets = {user_field(u): {int(a) for a in ids} for u, ids in seen.items()}
        counts = {"users": 0, "similar": 0, "cards": 0, "neighbours": 0}

        def user_rows() -> Iterator[tuple[str, str]]:
            for user, recs in user_recs.items():
                field = user_field(user)
                skip = seen_sets.get(field, set())
                rows = []
                for rec in recs:
                    anime_id, score = int(rec[0]), float(rec[1])
                    if anime_id in skip:
                        continue
                    rows.append([anime_id, score, rec[2] if len(rec) > 2 else None])
                counts["users"] += 1
                yield field, _dumps(rows)

        def similar_rows() -> Iterator[tuple[str, str]]:
            for anime_id, items in similar.items():
                counts["similar"] += 1
                yield str(int(anime_id)), _dumps([[int(a), float(s)] for a, s, *_ in items])

        def card_rows() -> Iterator[tuple[str, str]]:
            for anime_id, card in cards.items():
                counts["cards"] += 1
                # NaN (a missing value from pandas) is not JSON: readers would fail on the card; null instead
                yield str(int(anime_id)), _dumps({k: None if isinstance(v, float) and v != v else v
                                                  for k, v in dict(card).items()})

        def neighbour_rows() -> Iterator[tuple[str, str]]:
            for anime_id, pairs in (neighbours or {}).items():
                pairs = list(pairs)
                counts["neighbours"] += 1
                yield str(int(anime_id)), _dumps([[int(p[0]) for p in pairs], [round(float(p[1]), 6) for p in pairs]])

        seen_rows = ((u, _dumps(sorted(ids))) for u, ids in seen_sets.items())
        for part, rows in (("users", user_rows()), ("seen", seen_rows), ("similar", similar_rows()),
                           ("cards", card_rows()), ("neighbours", neighbour_rows())):
            self._write_hash(self.version_key(version, part), rows)

        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.version_key(version, "popular"), _dumps([int(a) for a in popular]), ex=STAGING_TTL)
        pipe.set(self.version_key(version, "trending"), _dumps([int(a) for a in trending]), ex=STAGING_TTL)
        meta = {"version": version, "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "users": counts["users"], "seen": len(seen_sets), "similar": counts["similar"],
                "cards": counts["cards"], "neighbours": counts["neighbours"], "popular": len(popular),
                "trending": len(trending), **{k: v for k, v in (provenance or {}).items() if k not in ("version",)}}
        pipe.hset(self.version_key(version, "meta"), mapping=meta)
        pipe.expire(self.version_key(version, "meta"), STAGING_TTL)
        pipe.execute()
        self._switch(version, grace_seconds)
        return version

    def _write_hash(self, key: str, rows: Iterable[tuple[str, str]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        queued = 0
        for chunk in _chunks(rows):
            pipe.hset(key, mapping=dict(chunk))
            queued += 1
            if queued >= 20:
                pipe.expire(key, STAGING_TTL)
                pipe.execute()
                queued = 0
        pipe.expire(key, STAGING_TTL)  # no-op on a key never created (an empty part)
        pipe.execute()

    def _switch(self, version: str, grace_seconds: int) -> None:
        """Point `live` at `version`, keep it forever, give the previous version `grace_seconds`."""
        new_keys = [self.version_key(version, p) for p in PARTS]
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(self.live_key)
                    old = pipe.get(self.live_key)
                    pipe.multi()
                    pipe.set(self.live_key, version)
                    for key in new_keys:
                        pipe.persist(key)
                    if old and old != version:
                        for part in PARTS:
                            if grace_seconds:
                                pipe.expire(self.version_key(old, part), grace_seconds)
                            else:
                                pipe.delete(self.version_key(old, part))
                    pipe.lpush(self.history_key, version)
                    pipe.ltrim(self.history_key, 0, HISTORY - 1)
                    pipe.execute()
                    break
                except redis.WatchError:  # another publisher switched meanwhile; retire its version instead
                    continue

    # lists crawled on demand (cold start), outside versions
    def put_user_list(self, user: str, entries: Iterable[Sequence[Any]], ttl_seconds: int = 7 * 24 * 3600) -> None:
        """Store a freshly crawled list: (anime_id, status, score|None, last_interaction_date|None) rows."""
        self.redis.set(self.fresh_list_key(user), fresh_list_payload(entries), ex=ttl_seconds)


class AsyncRecView:
    """The API's reads of one version (redis.asyncio). Raises `VersionGone` when that version has expired."""

    def __init__(self, store: AsyncRecStore, version: str) -> None:
        self.store = store
        self.version = version
        self._r: Any = store.redis

    def key(self, part: str) -> str:
        return self.store.version_key(self.version, part)

    async def _run(self, commands: Sequence[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        pipe = self._r.pipeline(transaction=False)
        for name, args in commands:
            getattr(pipe, name)(*args)
        pipe.exists(self.key("meta"))
        *values, alive = await pipe.execute()
        if not alive:
            raise VersionGone(self.version)
        return values

    async def user(self, user: str, n: int | None = None) -> tuple[list[Rec] | None, set[int]]:
        field = user_field(user)
        raw, seen = await self._run([("hget", (self.key("users"), field)), ("hget", (self.key("seen"), field))])
        return decode_recs(raw, n), decode_seen(seen)

    async def user_recs_and_feedback(self, user: str, n: int | None = None
                                     ) -> tuple[list[Rec] | None, list[int], list[int]]:
        """(ranked list, hidden anime, liked anime) in one round trip; the marker is checked only on a miss."""
        pipe = self._r.pipeline(transaction=False)
        pipe.hget(self.key("users"), user_field(user))
        pipe.zrange(self.store.feedback_key(user, "hidden"), 0, -1)
        pipe.zrange(self.store.feedback_key(user, "liked"), 0, -1)
        raw, hidden, liked = await pipe.execute()
        if raw is None and not await self._r.exists(self.key("meta")):
            raise VersionGone(self.version)
        return decode_recs(raw, n), [int(a) for a in hidden], [int(a) for a in liked]

    async def user_recs(self, user: str, n: int | None = None) -> list[Rec] | None:
        """One HGET on the hot path; the version marker is checked only when the user is missing."""
        raw = await self._r.hget(self.key("users"), user_field(user))
        if raw is None and not await self._r.exists(self.key("meta")):
            raise VersionGone(self.version)
        return decode_recs(raw, n)

    async def similar(self, anime_id: int, n: int | None = None) -> list[tuple[int, float]] | None:
        (raw,) = await self._run([("hget", (self.key("similar"), str(int(anime_id))))])
        return decode_similar(raw, n)

    async def similar_many(self, anime_ids: Sequence[int], n: int | None = None) -> dict[int, list[tuple[int, float]]]:
        if not anime_ids:
            return {}
        (values,) = await self._run([("hmget", (self.key("similar"), [str(int(a)) for a in anime_ids]))])
        return {int(a): decode_similar(raw, n) for a, raw in zip(anime_ids, values, strict=True) if raw is not None}

    async def neighbours(self, anime_ids: Sequence[int]) -> dict[int, tuple[list[int], list[float]]]:
        """Item-item weights of `anime_ids` (those without any are left out)."""
        if not anime_ids:
            return {}
        (values,) = await self._run([("hmget", (self.key("neighbours"), [str(int(a)) for a in anime_ids]))])
        return {int(a): decode_neighbours(raw) for a, raw in zip(anime_ids, values, strict=True)  # type: ignore[misc]
                if raw is not None}

    async def cards(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        values = await self._r.hmget(self.key("cards"), [str(int(a)) for a in ids])
        if None in values and not await self._r.exists(self.key("meta")):
            raise VersionGone(self.version)
        return {int(a): json.loads(raw) for a, raw in zip(ids, values, strict=True) if raw is not None}

    def scan_cards(self, batch: int = 1000) -> AsyncIterator[dict[int, Any]]:
        """Every card of the version, a batch at a time."""
        return self._scan("cards", _loads, batch)

    def scan_neighbours(self, batch: int = 1000) -> AsyncIterator[dict[int, tuple[list[int], list[float]]]]:
        """Every item-item weight list of the version, a batch at a time."""
        return self._scan("neighbours", _neighbour_weights, batch)

    async def _scan(self, part: str, decode: Callable[[str], T], batch: int) -> AsyncIterator[dict[int, T]]:
        """A hash part field by field (HSCAN: Redis is never blocked by one big reply), decoded."""
        cursor = 0
        while True:
            cursor, values = await self._r.hscan(self.key(part), cursor, count=batch)
            if values:
                yield {int(a): decode(raw) for a, raw in values.items()}
            if not cursor:
                return

    async def lists(self) -> tuple[list[int], list[int]]:
        """(popular, trending) in one round trip."""
        popular, trending = await self._run([("get", (self.key("popular"),)), ("get", (self.key("trending"),))])
        return (json.loads(popular) if popular else []), (json.loads(trending) if trending else [])

    async def popular(self, n: int | None = None) -> list[int]:
        return (await self.lists())[0][:n]

    async def trending(self, n: int | None = None) -> list[int]:
        return (await self.lists())[1][:n]


class AsyncRecStore(Keys):
    """The API's asyncio reader of what `RecStore` published (plus the on-demand user lists and feedback)."""

    def __init__(self, redis_client: Any, prefix: str = "animerec:", *, version_cache_seconds: float = 0.0) -> None:
        self.redis = redis_client
        self.prefix = prefix
        self.version_cache_seconds = version_cache_seconds
        self._cached: tuple[str, float] | None = None

    async def live_version(self) -> str | None:
        return await self.redis.get(self.live_key)

    async def view(self, version: str | None = None) -> AsyncRecView:
        if version is None:
            now = time.monotonic()
            cached = self._cached
            if cached and now - cached[1] < self.version_cache_seconds:
                version = cached[0]
            else:
                version = await self.live_version()
                if version is None:
                    raise NoLiveVersion("nothing published yet")
                self._cached = (version, now)
        return AsyncRecView(self, version)

    def forget_cached_version(self) -> None:
        self._cached = None

    async def read(self, fn: Callable[[AsyncRecView], Awaitable[T]], *, attempts: int = 3) -> T:
        """Await `fn(view)` on the live version, starting over on a fresh one if it expired meanwhile."""
        for attempt in range(attempts):
            try:
                return await fn(await self.view())
            except VersionGone:
                self._cached = None
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def put_user_list(self, user: str, entries: Iterable[Sequence[Any]],
                            ttl_seconds: int = 7 * 24 * 3600) -> None:
        await self.redis.set(self.fresh_list_key(user), fresh_list_payload(entries), ex=ttl_seconds)

    async def user_list(self, user: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.fresh_list_key(user))
        return json.loads(raw) if raw else None

    async def add_feedback(self, user: str, kind: str, anime_id: int, *, limit: int, ttl_seconds: int,
                           remove_from: str | None = None) -> None:
        """Remember a verified like/dislike: newest `limit` kept, the set expires `ttl_seconds` after the last one;
        the opposite kind loses the anime (a like undoes an earlier "not for me" and the other way round)."""
        key = self.feedback_key(user, kind)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(key, {str(int(anime_id)): time.time()})
        pipe.zremrangebyrank(key, 0, -limit - 1)
        pipe.expire(key, ttl_seconds)
        if remove_from:
            pipe.zrem(self.feedback_key(user, remove_from), str(int(anime_id)))
        await pipe.execute()
