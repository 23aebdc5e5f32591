"""Filters on recommendations, similar and trending: genres (any/all), type, airing status, episodes, years and
adult titles. They apply to the long published list (settings.candidates), then the top n is cut."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

TYPES = ("TV", "Movie", "OVA", "ONA", "Special", "Music")
STATUSES = ("airing", "finished", "upcoming")
MAX_VALUES = 20
MAX_VALUE_LENGTH = 40
# The OpenAPI description of each query parameter (openapi.py renders them; keep the two together).
# one genre: not blank, at most 40 characters once trimmed; spaces spelled out (\s differs between regex engines)
GENRE = r"[ \t\n\r\f\v]*[^, \t\n\r\f\v](?:[^,]{0,38}[^, \t\n\r\f\v])?[ \t\n\r\f\v]*"


def _list_of(words: tuple[str, ...]) -> str:
    one = "(?:" + "|".join(words) + ")"
    return f"^{one}(?:,{one}){{0,{MAX_VALUES - 1}}}$"


PARAMETERS: list[dict[str, Any]] = [
    {"name": "genres", "description": "Comma-separated genres, e.g. Action,Comedy (see genres_mode)",
     "schema": {"type": "string", "pattern": f"^{GENRE}(?:,{GENRE}){{0,{MAX_VALUES - 1}}}$"}},
    {"name": "genres_mode", "description": "any: at least one of the genres (default); all: every one",
     "schema": {"type": "string", "enum": ["any", "all"], "default": "any"}},
    {"name": "type", "description": f"Comma-separated types: {', '.join(TYPES)}",
     "schema": {"type": "string", "pattern": _list_of(TYPES)}},
    {"name": "status", "description": f"Comma-separated airing status: {', '.join(STATUSES)}",
     "schema": {"type": "string", "pattern": _list_of(STATUSES)}},
    {"name": "max_episodes", "description": "At most this many episodes (anime with an unknown count are left out)",
     "schema": {"type": "integer", "minimum": 1, "maximum": 100000}},
    {"name": "year_from", "description": "First aired in this year or later",
     "schema": {"type": "integer", "minimum": 1900, "maximum": 2100}},
    {"name": "year_to", "description": "First aired in this year or earlier (before year_from: nothing matches)",
     "schema": {"type": "integer", "minimum": 1900, "maximum": 2100}},
    {"name": "include_adult", "description": "true: include adult (Rx) titles, which are left out by default",
     "schema": {"type": "boolean", "default": False}},
]
NAMES = frozenset(p["name"] for p in PARAMETERS)
PATTERNS = {p["name"]: re.compile(p["schema"]["pattern"]) for p in PARAMETERS if "pattern" in p["schema"]}
DESCRIPTIONS = {p["name"]: p["description"] for p in PARAMETERS}


@dataclass(frozen=True)
class Filters:
    genres: frozenset[str] = frozenset()
    all_genres: bool = False
    types: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    max_episodes: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    include_adult: bool = False

    @property
    def active(self) -> dict[str, Any]:
        """The filters a request set, for the answer (the default adult exclusion included)."""
        out: dict[str, Any] = {}
        if self.genres:
            out["genres"] = sorted(self.genres)
            out["genres_mode"] = "all" if self.all_genres else "any"
        if self.types:
            out["type"] = sorted(self.types)
        if self.statuses:
            out["status"] = sorted(self.statuses)
        for name in ("max_episodes", "year_from", "year_to"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out["include_adult"] = self.include_adult
        return out

    def accepts(self, card: Mapping[str, Any] | None) -> bool:
        if card is None:  # no card: nothing known to filter on; kept only when no filter asks anything
            return not (self.genres or self.types or self.statuses or self.max_episodes or self.year_from
                        or self.year_to)
        if not self.include_adult and card.get("adult"):
            return False
        if self.genres:
            have = {g.lower() for g in card.get("genres") or ()}
            if not (self.genres <= have if self.all_genres else self.genres & have):
                return False
        if self.types and (card.get("type") or "").lower() not in self.types:
            return False
        if self.statuses and card.get("status") not in self.statuses:
            return False
        if self.max_episodes is not None and not 0 < (card.get("episodes") or 0) <= self.max_episodes:
            return False
        year = card.get("year")
        if self.year_from is not None and (year is None or year < self.year_from):
            return False
        return not (self.year_to is not None and (year is None or year > self.year_to))


DEFAULT = Filters()


def _words(params: Mapping[str, str], name: str) -> list[str]:
    """A comma-separated parameter, checked with the very pattern the OpenAPI document gives it."""
    raw = _one(params, name)
    if raw is None:
        return []
    if not PATTERNS[name].fullmatch(raw):
        raise ApiError(400, f"bad_{name}", f"{name}: {DESCRIPTIONS[name]} (at most {MAX_VALUES} values of "
                                           f"{MAX_VALUE_LENGTH} characters)")
    return [w.strip() for w in raw.split(",")]


def _one(params: Mapping[str, str], name: str) -> str | None:
    values = params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []
    if len(values) > 1:
        raise ApiError(400, f"bad_{name}", f"give {name} at most once")
    return values[0] if values else None


def _int(params: Mapping[str, str], name: str, lo: int, hi: int) -> int | None:
    raw = _one(params, name)
    if raw is None:
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and lo <= int(raw) <= hi):
        raise ApiError(400, f"bad_{name}", f"{name} must be a whole number from {lo} to {hi}")
    return int(raw)


def parse(params: Mapping[str, str]) -> Filters:
    """The filters of a query string (DEFAULT when none is given); ApiError 400 for bad values."""
    if not NAMES.intersection(params.keys()):
        return DEFAULT
    genres = frozenset(g.lower() for g in _words(params, "genres"))
    mode = _one(params, "genres_mode") or "any"
    if mode not in ("any", "all"):
        raise ApiError(400, "bad_genres_mode", "genres_mode: any or all")
    types = set(_words(params, "type"))
    if types - set(TYPES):
        raise ApiError(400, "bad_type", f"type: one or more of {', '.join(TYPES)}")
    statuses = set(_words(params, "status"))
    if statuses - set(STATUSES):
        raise ApiError(400, "bad_status", f"status: one or more of {', '.join(STATUSES)}")
    adult = _one(params, "include_adult") or "false"
    if adult not in ("true", "false"):
        raise ApiError(400, "bad_include_adult", "include_adult: true or false")
    flt = Filters(genres=genres, all_genres=mode == "all", types=frozenset(t.lower() for t in types),
                  statuses=frozenset(statuses),
                  max_episodes=_int(params, "max_episodes", 1, 100000),
                  year_from=_int(params, "year_from", 1900, 2100), year_to=_int(params, "year_to", 1900, 2100),
                  include_adult=adult == "true")
    return flt
