"""Kafka messages -> the job's events: one flat record per message, or a poison record saying why not.

Plain Python (no PyFlink) so it is tested in the main environment; the job calls `parse` from a flat_map.
Trending counts what people do now: list starts and completions and episodes seen by the crawler (at
crawl time, and only when the entry's own date is recent), and likes and clicks on our page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from .settings import StreamSettings

FEEDBACK = "feedback"
INGEST = "ingest"

# Event times outside these bounds are bad timestamps, not events.
EARLIEST_MS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000)
FUTURE_SLACK_MS = 24 * 3600 * 1000
MAX_ANIME_ID = 2_147_483_647


@dataclass(frozen=True)
class Record:
    """What the job counts. kind: trend (a crawled list entry or activity), feedback, poison."""

    kind: str
    anime_id: int
    weight: float
    ts_ms: int
    action: str = ""
    version: str = ""
    source: str = ""
    reason: str = ""

    def as_tuple(self) -> tuple[str, int, float, int, str, str, str, str]:
        return (self.kind, self.anime_id, self.weight, self.ts_ms, self.action, self.version, self.source,
                self.reason)


FIELDS = ("kind", "anime_id", "weight", "ts_ms", "action", "version", "source", "reason")


def poison(reason: str, ts_ms: int) -> Record:
    return Record("poison", 0, 0.0, ts_ms, reason=reason)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _decode(payload: bytes | str) -> dict | None:
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse_time(value: object) -> int | None:
    """Milliseconds since the epoch of an ISO-8601 date-time with a zone (a bare date counts as UTC midnight)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        if len(value) != 10:  # a date-time without a zone is ambiguous
            return None
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _anime_id(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ANIME_ID:
        return None
    return value


def _time_ok(ts: int | None, now_ms: int) -> bool:
    return ts is not None and EARLIEST_MS <= ts <= now_ms + FUTURE_SLACK_MS


def _text(value: object, default: str) -> str:
    return value[:64] if isinstance(value, str) and value else default


def parse_feedback(payload: bytes | str, s: StreamSettings, now_ms: int) -> Record:
    doc = _decode(payload)
    if doc is None:
        return poison("json", now_ms)
    anime_id = _anime_id(doc.get("anime_id"))
    action = doc.get("action")
    if anime_id is None or action not in ("like", "dislike", "click"):
        return poison("schema", now_ms)
    ts = parse_time(doc.get("created_at"))
    if not _time_ok(ts, now_ms):
        return poison("timestamp", now_ms)
    assert ts is not None
    raw_context = doc.get("context")
    context: dict[str, object] = raw_context if isinstance(raw_context, dict) else {}
    # Only feedback that came with a valid token for its user moves trending: anyone can post the rest.
    weights = {"like": s.weight_like, "click": s.weight_click}
    weight = weights.get(action, 0.0) if context.get("verified") is True else 0.0
    return Record(FEEDBACK, anime_id, weight, ts, action=action, version=_text(context.get("model_version"), "unknown"),
                  source=_text(context.get("source"), "unknown"))


def parse_item(payload: bytes | str, s: StreamSettings, now_ms: int) -> Record | None:
    """A trend record, a poison record, or None for an item that is valid but not a trend signal."""
    doc = _decode(payload)
    if doc is None:
        return poison("json", now_ms)
    item_type = doc.get("item_type")
    if not isinstance(item_type, str):
        return poison("schema", now_ms)
    if item_type == "animelist_entry":
        weight = {"completed": s.weight_completed, "watching": s.weight_started}.get(doc.get("status"))  # type: ignore[arg-type]
        own = doc.get("last_interaction_date")
    elif item_type == "activity":
        weight = s.weight_episode
        own = doc.get("activity_date")
    else:
        return None
    anime_id = _anime_id(doc.get("anime_id"))
    if anime_id is None:
        return poison("schema", now_ms)
    if not weight or own is None:
        return None
    own_ms = parse_time(own)
    crawled_ms = parse_time(doc.get("crawled_at")) if doc.get("crawled_at") is not None else own_ms
    if not _time_ok(own_ms, now_ms) or not _time_ok(crawled_ms, now_ms):
        return poison("timestamp", now_ms)
    assert own_ms is not None and crawled_ms is not None
    if crawled_ms - own_ms > s.item_max_age_hours * 3600 * 1000:
        return None  # old history seen for the first time: not a trend
    return Record("trend", anime_id, float(weight), crawled_ms, action=item_type)


def parse(topic_kind: str, payload: bytes | str, s: StreamSettings, now_ms: int) -> Record | None:
    if topic_kind == FEEDBACK:
        return parse_feedback(payload, s, now_ms)
    return parse_item(payload, s, now_ms)


def rank(scores: dict[int, float], n: int) -> list[int]:
    """Best first; ties by anime id so a replayed window writes the same list."""
    return [a for a, w in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])) if w > 0 and math.isfinite(w)][:n]
