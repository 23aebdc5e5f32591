"""Redis helpers: one client per process, keys under a common prefix."""

from __future__ import annotations

import redis


def client(url: str, **options) -> redis.Redis:
    options.setdefault("socket_timeout", 2.0)
    options.setdefault("socket_connect_timeout", 2.0)
    options.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, decode_responses=True, **options)


def key(prefix: str, *parts: object) -> str:
    """`key("animerec:", "recs", 3, "alice")` -> "animerec:recs:3:alice"."""
    return prefix + ":".join(str(p) for p in parts)
