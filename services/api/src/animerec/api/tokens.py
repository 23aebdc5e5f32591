"""Feedback tokens: signed (HMAC-SHA256), expiring and bound to one user name, issued with every
recommendation answer. Feedback changes a user's lists only with a valid token for that user; the token
also says which published version and source the anime came from, so online metrics cannot be forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

from animerec.common.recstore import user_field

PREFIX = "t1."
MAX_TOKEN = 512


@dataclass(frozen=True)
class Grant:
    user: str      # lower-cased user name
    version: str
    source: str
    expires: int   # unix seconds
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError("the feedback secret must be at least 16 characters")
        self._key = secret.encode()
        self.ttl = ttl_seconds

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, user: str, version: str, source: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.ttl)
        payload = _b64(orjson.dumps({"u": user_field(user), "v": version, "s": source, "e": expires,
                                     "n": secrets.token_urlsafe(9)}))
        return f"{PREFIX}{payload}.{self._mac(payload)}"

    def check(self, token: object, user: str, now: float | None = None) -> tuple[Grant | None, str]:
        """(grant, "ok") for a valid token of `user`; (None, why) otherwise: malformed, forged, expired,
        other_user."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN or not token.startswith(PREFIX):
            return None, "malformed"
        payload, _, mac = token[len(PREFIX):].partition(".")
        if not payload or not mac or not hmac.compare_digest(mac, self._mac(payload)):
            return None, "forged"
        try:
            data = orjson.loads(_unb64(payload))
            grant = Grant(str(data["u"]), str(data["v"]), str(data["s"]), int(data["e"]), str(data["n"]))
        except (ValueError, KeyError, TypeError):
            return None, "malformed"
        if grant.expires < (time.time() if now is None else now):
            return None, "expired"
        if grant.user != user_field(user):
            return None, "other_user"
        return grant, "ok"
