"""POST /v1/feedback: check the request, build a `feedback` event, produce it to the feedback topic."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import uuid
from collections.abc import Callable
from typing import Any

import anyio.to_thread

from animerec.common import contracts
from animerec.common.config import CoreSettings
from animerec.common.kafka import EventProducer, topic_name
from animerec.common.timefmt import now_iso

from .errors import MAX_ANIME_ID, USER_NAME, USER_NAME_RULE, ApiError

log = logging.getLogger(__name__)

# The request body is defined once, in the event schemas (`feedback_request`); OpenAPI shows the same definition.
REQUEST = contracts.definition("feedback_request")
ACTIONS = tuple(contracts.definition("feedback_action")["enum"])
_TYPES = {"string": str, "integer": int}
CONTEXT_FIELDS = {name: _TYPES[spec.get("type", "string")] for name, spec in
                  contracts.definition("feedback_client_context")["properties"].items()}
MAX_TOKEN = REQUEST["properties"]["token"]["maxLength"]
TOKEN = re.compile(REQUEST["properties"]["token"]["pattern"])
MAX_BODY = 4096


def _bad_text(value: Any) -> bool:
    """True when a string anywhere in `value` holds NUL or a lone surrogate."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


def parse(body: bytes) -> tuple[dict[str, Any], str | None]:
    """(the feedback event, the token sent with it) for a request body, or an ApiError saying what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    try:
        bad = _bad_text(data)
    except RecursionError:
        raise ApiError(400, "bad_json", "the body is nested too deeply") from None
    if bad:
        # lone UTF-16 surrogates cannot be encoded (Kafka, PostgreSQL) and NUL is refused by PostgreSQL text
        raise ApiError(400, "bad_text", "the body holds a lone UTF-16 surrogate or a NUL character")
    extra = sorted(set(data) - set(REQUEST["properties"]))
    if extra:
        raise ApiError(422, "unknown_field", f"unknown field(s): {', '.join(extra)[:200]}")
    user, anime, action, context = data.get("user"), data.get("anime_id"), data.get("action"), data.get("context")
    token = data.get("token")
    if not isinstance(user, str) or not USER_NAME.fullmatch(user):
        raise ApiError(422, "bad_user_name", f"user: {USER_NAME_RULE}")
    if "token" in data and (not isinstance(token, str) or len(token) > MAX_TOKEN or not TOKEN.fullmatch(token)):
        raise ApiError(422, "bad_token", f"token: the feedback_token of an answer (at most {MAX_TOKEN} letters, "
                                         "digits, '.', '_' or '-')")
    if type(anime) is not int or not 1 <= anime <= MAX_ANIME_ID:
        raise ApiError(422, "bad_anime_id", f"anime_id: a whole number from 1 to {MAX_ANIME_ID}")
    if action not in ACTIONS:
        raise ApiError(422, "bad_action", f"action: one of {', '.join(ACTIONS)}")
    if "context" in data and not isinstance(context, dict):
        raise ApiError(422, "bad_context", "context: an object")
    for name, value in (context or {}).items():
        kind = CONTEXT_FIELDS.get(name)
        if kind is None:
            raise ApiError(422, "bad_context", f"context: unknown field {name[:50]!r}")
        if type(value) is not kind:
            expected = "an integer" if kind is int else "a string"
            raise ApiError(422, "bad_context", f"context.{name}: expected {expected}")
    event = {"event_id": str(uuid.uuid4()), "user_name": user, "anime_id": anime, "action": action,
             "created_at": now_iso()}
    if context:
        event["context"] = dict(context)
    try:
        contracts.validate("feedback", event)
    except contracts.SchemaError as exc:  # bounds the schema adds (surface values, lengths, position >= 0)
        raise ApiError(422, "bad_feedback", str(exc)[:500]) from None
    return event, token


def kafka_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when a TCP connection to one of the bootstrap servers opens."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except (OSError, ValueError):
            continue
    return False


class FeedbackSink:
    """Produces feedback events; the Kafka producer is made on first use so the API starts without Kafka."""

    def __init__(self, core: CoreSettings, timeout: float, retry_after: int,
                 producer_factory: Callable[[], Any] | None = None) -> None:
        self.core = core
        self.timeout = timeout
        self.retry_after = retry_after
        self.topic = topic_name(core, "feedback")
        self._factory = producer_factory or (lambda: EventProducer(
            core, "api", acks="all", max_block_ms=int(timeout * 1000), request_timeout_ms=int(timeout * 1000),
            bootstrap_timeout_ms=int(timeout * 1000)))
        self._producer: Any = None
        self._lock = asyncio.Lock()

    def unavailable(self, why: str) -> ApiError:
        return ApiError(503, "feedback_unavailable", f"feedback cannot be recorded right now ({why}); retry later",
                        {"Retry-After": str(self.retry_after)})

    async def _get_producer(self) -> Any:
        async with self._lock:
            if self._producer is None:
                # fail fast (and without a producer stuck in its bootstrap) when nothing listens
                if not await self.ready():
                    raise self.unavailable("the event broker is not reachable")
                try:
                    self._producer = await anyio.to_thread.run_sync(self._factory)
                except Exception as exc:
                    log.warning("Kafka producer unavailable: %s: %s", type(exc).__name__, exc)
                    raise self.unavailable("the event broker is not reachable") from None
        return self._producer

    async def send(self, event: dict[str, Any]) -> None:
        producer = await self._get_producer()
        try:
            await anyio.to_thread.run_sync(lambda: producer.send(
                self.topic, event, key=event["user_name"], schema="feedback", wait=True, timeout=self.timeout))
        except Exception as exc:
            log.warning("feedback not acknowledged", extra={"error": f"{type(exc).__name__}: {exc}"})
            raise self.unavailable("the event broker did not acknowledge it") from None

    async def ready(self) -> bool:
        return await anyio.to_thread.run_sync(kafka_reachable, self.core.kafka_bootstrap)

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await anyio.to_thread.run_sync(lambda: producer.close(2))
