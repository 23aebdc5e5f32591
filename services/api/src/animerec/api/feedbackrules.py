"""Who may change a user's lists through feedback: rate limits per client address and per user, token checks
(signed, expiring, bound to the user; each token counts once per anime and action), and the effect of a
verified like or "not for me" on the user's Redis feedback sets."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from animerec.common.recstore import AsyncRecStore, user_field

from .errors import ApiError
from .metrics import ApiMetrics
from .settings import ApiSettings
from .tokens import Grant, Signer


class FeedbackRules:
    def __init__(self, settings: ApiSettings, store: AsyncRecStore, metrics: ApiMetrics, signer: Signer) -> None:
        self.settings = settings
        self.store = store
        self.redis = store.redis
        self.metrics = metrics
        self.signer = signer
        self.prefix = store.prefix

    async def limit(self, client: str, user: str) -> None:
        """429 when this client address or this user name sent too much feedback this minute."""
        minute = int(time.time() // 60)
        # the address is hashed: no raw client addresses in Redis
        client_key = f"{self.prefix}api:fb-rate:c:{hashlib.sha256(client.encode()).hexdigest()[:16]}:{minute}"
        user_key = f"{self.prefix}api:fb-rate:u:{user_field(user)}:{minute}"
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(client_key)
        pipe.expire(client_key, 120)
        pipe.incr(user_key)
        pipe.expire(user_key, 120)
        by_client, _, by_user, _ = await pipe.execute()
        if by_client > self.settings.feedback_rate_per_client or by_user > self.settings.feedback_rate_per_user:
            retry = str(60 - int(time.time() % 60))
            raise ApiError(429, "too_many_requests", "too much feedback in a short time; retry in a minute",
                           {"Retry-After": retry})

    async def check(self, token: str | None, event: dict[str, Any]) -> tuple[Grant | None, str, str | None]:
        """(grant, "ok", claim key) when the token is valid for this user and not used before for this anime and
        action; the event's context records the outcome either way (analytics keep unverified feedback apart)."""
        claim = None
        if token is None:
            grant, status = None, "missing"
        else:
            grant, status = self.signer.check(token, event["user_name"])
        if grant is not None:
            claim = f"{self.prefix}api:fb-used:{grant.nonce}:{event['anime_id']}:{event['action']}"
            ttl = max(1, grant.expires - int(time.time()) + 1)
            if not await self.redis.set(claim, "1", nx=True, ex=ttl):
                grant, status, claim = None, "replayed", None
        self.metrics.feedback_checks.labels(status).inc()
        context = event.setdefault("context", {})
        context["verified"] = grant is not None
        context["token_status"] = status
        context["source"] = grant.source if grant else "unverified"
        if grant is not None:
            context["model_version"] = grant.version[:64]
        return grant, status, claim

    async def release(self, claim: str | None) -> None:
        """Undo a claim when the event could not be recorded (the client may retry with the same token)."""
        if claim:
            await self.redis.delete(claim)

    async def apply(self, event: dict[str, Any]) -> None:
        """A verified dislike hides the anime from every list of the user; a like lends it weight in fold-in
        (and undoes an earlier dislike). Clicks change nothing."""
        action, user, anime_id = event["action"], event["user_name"], event["anime_id"]
        if action not in ("like", "dislike"):
            return
        kind, other = ("hidden", "liked") if action == "dislike" else ("liked", "hidden")
        await self.store.add_feedback(user, kind, anime_id, limit=self.settings.feedback_memory,
                                      ttl_seconds=self.settings.feedback_memory_seconds, remove_from=other)
