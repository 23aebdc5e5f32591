"""Redis: one client per process, with timeouts and health checks, decoding responses to str."""

from __future__ import annotations

from typing import Any

import redis


def client(url: str, **options: Any) -> redis.Redis:
    options.setdefault("socket_timeout", 2.0)
    options.setdefault("socket_connect_timeout", 2.0)
    options.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, decode_responses=True, **options)
