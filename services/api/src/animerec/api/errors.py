"""Request validation: every bad input becomes an `ApiError` that answers 4xx with a JSON body."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, overload

from animerec.common import contracts

# MyAnimeList user names, as the event schemas define them (the crawler and the mirror read the same rule).
USER_NAME_SCHEMA = contracts.definition("user_name")
USER_NAME_PATTERN = USER_NAME_SCHEMA["pattern"]
USER_NAME = re.compile(USER_NAME_PATTERN)
NAME_MIN, NAME_MAX = USER_NAME_SCHEMA["minLength"], USER_NAME_SCHEMA["maxLength"]
USER_NAME_RULE = f"{NAME_MIN} to {NAME_MAX} letters, digits, '_' or '-' (MyAnimeList rules)"
MAX_ANIME_ID = 2**31 - 1


class ApiError(Exception):
    """An answer other than 200, with a machine-readable code and a sentence for people."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def user_name(raw: str) -> str:
    if not USER_NAME.fullmatch(raw):  # fullmatch: "$" would let a trailing newline through
        raise ApiError(400, "bad_user_name", f"user names are {USER_NAME_RULE}")
    return raw


def anime_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ANIME_ID):
        raise ApiError(400, "bad_anime_id", f"anime ids are whole numbers from 1 to {MAX_ANIME_ID}")
    return int(raw)


@overload
def int_param(params: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int: ...
@overload
def int_param(params: Mapping[str, str], name: str, default: None, lo: int, hi: int) -> int | None: ...
def int_param(params: Mapping[str, str], name: str, default: int | None, lo: int, hi: int) -> int | None:
    """An optional integer query parameter within [lo, hi]."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []
    if not values:
        return default
    if len(values) > 1:
        raise ApiError(400, f"bad_{name}", f"give {name} at most once")
    raw = values[0].strip()
    if len(raw) > 12 or not (raw.isascii() and (raw.isdigit() or (raw[:1] == "-" and raw[1:].isdigit()))):
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {lo} to {hi}")
    value = int(raw)
    if not lo <= value <= hi:
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {lo} to {hi}")
    return value

