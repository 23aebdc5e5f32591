"""Reading back what a publish wrote, in tests: through the API's own reader (`AsyncRecStore`), so a test checks
what is served rather than a second reader of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis

from animerec.common.recstore import AsyncRecStore, AsyncRecView

T = TypeVar("T")


def read(redis_url: str, prefix: str, fn: Callable[[AsyncRecStore], Awaitable[T]], **options: Any) -> T:
    """`await fn(reader)` with the API's reader (`options` go to AsyncRecStore) on a fresh event loop."""
    async def run() -> T:
        client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        try:
            return await fn(AsyncRecStore(client, prefix, **options))
        finally:
            await client.aclose()
    return asyncio.run(run())


def read_live(redis_url: str, prefix: str, fn: Callable[[AsyncRecView], Awaitable[T]]) -> T:
    """`await fn(view)` on the live version, as the API reads it."""
    return read(redis_url, prefix, lambda reader: reader.read(fn))


def live_meta(redis_url: str, prefix: str) -> dict[str, str]:
    """The live version's meta hash (version, counts, which model and run made each part)."""
    async def meta(view: AsyncRecView) -> dict[str, str]:
        return await view.store.redis.hgetall(view.key("meta"))
    return read_live(redis_url, prefix, meta)
