"""Timestamps as the event schemas and the published documents write them: UTC, ISO 8601, a "Z" suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime, timespec: str = "milliseconds") -> str:
    """`moment` (timezone-aware) in UTC, e.g. 2026-01-02T03:04:05.678Z."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def now_iso(timespec: str = "milliseconds") -> str:
    return iso(datetime.now(UTC), timespec)
