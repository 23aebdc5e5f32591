"""Faults on demand, by configured rates, deterministic for a seed so tests repeat exactly.

Per request (the n-th request of a URL draws its own number, so a retried URL can succeed):
429 with Retry-After, 500, 503, a slow answer, a truncated body, a garbled body.
Per entity (stable across all its pages): private users (list restricted) and missing anime/users (404).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

REQUEST_FAULTS = ("429", "500", "503", "slow", "truncate", "garble")


def unit(*key: object) -> float:
    """A uniform number in [0, 1) fixed by the key."""
    digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Faults:
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    rate_slow: float = 0.0
    rate_truncate: float = 0.0
    rate_garble: float = 0.0
    rate_private: float = 0.0     # extra private users on top of the world's own
    rate_404: float = 0.0         # anime and users that answer 404 everywhere
    slow_seconds: float = 2.0
    retry_after: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("rate_") and not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {f.name} must be within [0, 1], got {value}")
        if sum(getattr(self, f"rate_{k}") for k in REQUEST_FAULTS) > 1.0:
            raise ValueError("per-request fault rates add up to more than 1")
        if self.slow_seconds < 0 or self.retry_after < 0:
            raise ValueError("slow_seconds and retry_after must be >= 0")

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> Faults:
        """'429=0.1,500=0.05,503=0.05,slow=0.1,truncate=0.02,garble=0.02,private=0.05,404=0.01,
        slow_seconds=2,retry_after=1' -> Faults."""
        values: dict[str, float | int] = {"seed": seed}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"fault {part!r}: expected name=value")
            key = name if name in ("slow_seconds", "retry_after", "seed") else f"rate_{name}"
            if key not in {f.name for f in fields(cls)}:
                raise ValueError(f"unknown fault {name!r} (known: {', '.join(REQUEST_FAULTS)}, private, 404, "
                                 "slow_seconds, retry_after, seed)")
            try:
                values[key] = int(raw) if key in ("retry_after", "seed") else float(raw)
            except ValueError:
                raise ValueError(f"fault {name}: {raw!r} is not a number") from None
        return cls(**values)

    @property
    def any_request_faults(self) -> bool:
        return any(getattr(self, f"rate_{k}") > 0 for k in REQUEST_FAULTS)

    def for_request(self, url: str, attempt: int) -> str | None:
        """Which request fault (if any) the `attempt`-th request of `url` gets."""
        if not self.any_request_faults:
            return None
        u = unit(self.seed, "request", url, attempt)
        edge = 0.0
        for kind in REQUEST_FAULTS:
            edge += getattr(self, f"rate_{kind}")
            if u < edge:
                return kind
        return None

    def is_private(self, user_name: str) -> bool:
        return self.rate_private > 0 and unit(self.seed, "private", user_name) < self.rate_private

    def is_missing(self, kind: str, key: object) -> bool:
        return self.rate_404 > 0 and unit(self.seed, "404", kind, key) < self.rate_404


def truncate(body: bytes) -> bytes:
    """The first half of a body, as when a connection drops mid-transfer."""
    return body[: len(body) // 2]


def garble(body: bytes, url: str, seed: int) -> bytes:
    """Deterministic junk of the body's length: what a broken proxy or cache might return."""
    out = bytearray()
    counter = 0
    while len(out) < max(16, len(body) // 4):
        out += hashlib.blake2b(f"{seed}\x1f{url}\x1f{counter}".encode()).digest()
        counter += 1
    return bytes(out)
