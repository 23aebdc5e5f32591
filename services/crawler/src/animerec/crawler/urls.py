"""Canonical MyAnimeList / Jikan v4 URLs and page-type inference from a URL.

The page type decides which parser reads a body; the canonical URLs are what the scheduler and
the crawler store and dedupe on, so every function here returns one spelling per page.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

from animerec.common import contracts

MAL = "https://myanimelist.net"
JIKAN = "https://api.jikan.moe/v4"
SOURCES = ("mal", "jikan")

# The page types a parser exists for (the same tuple is exported by animerec.crawler.parsers).
PAGE_TYPES = (
    "anime", "anime_stats", "anime_userrecs", "anime_reviews", "anime_pics", "anime_clubs",
    "profile", "animelist", "friends", "history", "top_anime", "users",
)

ALLOWED_HOSTS = {"myanimelist.net": "mal", "api.jikan.moe": "jikan"}
# MAL user names: letters, digits, _ and - (the event schemas' rule).
_NAME = contracts.user_name_pattern()
_ANIME_SUB = {"stats": "anime_stats", "userrecs": "anime_userrecs", "reviews": "anime_reviews",
              "pics": "anime_pics", "clubs": "anime_clubs"}
_JIKAN_ANIME_SUB = {"": "anime", "full": "anime", "relations": "anime", "statistics": "anime_stats",
                    "recommendations": "anime_userrecs", "reviews": "anime_reviews", "pictures": "anime_pics"}
_JIKAN_USER_SUB = {"": "profile", "full": "profile", "favorites": "profile", "statistics": "profile",
                   "clubs": "profile", "friends": "friends", "history": "history"}

_MAL_PATTERNS = [
    (re.compile(r"^/anime/(\d+)(?:/[^/]*)?/?$"), "anime"),
    (re.compile(r"^/anime/(\d+)/[^/]*/(stats|userrecs|reviews|pics|clubs)/?$"), "anime_sub"),
    (re.compile(rf"^/profile/({_NAME})/?$"), "profile"),
    (re.compile(rf"^/profile/({_NAME})/friends/?$"), "friends"),
    (re.compile(rf"^/animelist/({_NAME})/load\.json$"), "animelist"),
    (re.compile(rf"^/history/({_NAME})(?:/anime)?/?$"), "history"),
    (re.compile(r"^/topanime\.php$"), "top_anime"),
    (re.compile(r"^/users\.php$"), "users"),
]
_JIKAN_PATTERNS = [
    (re.compile(r"^/v4/anime/(\d+)(?:/(full|relations|statistics|recommendations|reviews|pictures))?/?$"),
     "anime_sub"),
    (re.compile(rf"^/v4/users/({_NAME})(?:/(full|favorites|statistics|clubs|friends|history))?/?$"), "user_sub"),
    (re.compile(rf"^/v4/users/({_NAME})/history/anime/?$"), "history"),
    (re.compile(r"^/v4/(?:top/anime|seasons/(?:now|upcoming|\d{4}/\w+)|schedules|anime)/?$"), "top_anime"),
    (re.compile(r"^/v4/(?:users|random/users)/?$"), "users"),
]


def anime_url(anime_id: int) -> str:
    return f"{MAL}/anime/{int(anime_id)}"


def profile_url(user_name: str) -> str:
    return f"{MAL}/profile/{quote(user_name)}"


def _split(url: str):
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    return parts, host


def anime_id_from_url(url: str) -> int | None:
    """The MAL anime id in a MAL or Jikan anime URL (any sub-page, any host: mirrors too), else None."""
    parts, _ = _split(url)
    m = re.match(r"^(?:/v4)?/anime/(\d+)(?:/|$)", parts.path)
    if m and int(m.group(1)) > 0:
        return int(m.group(1))
    return None


def user_name_from_url(url: str) -> str | None:
    """The user name in a MAL profile/animelist/history/friends or Jikan users URL, else None."""
    parts, _ = _split(url)
    m = re.match(rf"^(?:/v4/users|/profile|/animelist|/history)/({_NAME})(?:/|$)", parts.path)
    return m.group(1) if m else None


def source_of(url: str) -> str:
    """'jikan' for api.jikan.moe or a /v4/ path (the mirror serves both under one base), else 'mal'."""
    parts, host = _split(url)
    if ALLOWED_HOSTS.get(host) == "jikan" or parts.path.startswith("/v4/"):
        return "jikan"
    return "mal"


def page_type(url: str) -> str:
    """The page type of a MAL or Jikan v4 URL (one of PAGE_TYPES); ValueError if unknown.

    Only the path counts, so pages of the offline mirror (any host) are typed like the real ones.
    """
    parts, _ = _split(url)
    source = source_of(url)
    path = parts.path
    if source == "mal":
        for pattern, kind in _MAL_PATTERNS:
            m = pattern.match(path)
            if m:
                return _ANIME_SUB[m.group(2)] if kind == "anime_sub" else kind
    elif source == "jikan":
        for pattern, kind in _JIKAN_PATTERNS:
            m = pattern.match(path)
            if not m:
                continue
            if kind == "anime_sub":
                return _JIKAN_ANIME_SUB[m.group(2) or ""]
            if kind == "user_sub":
                return _JIKAN_USER_SUB[m.group(2) or ""]
            return kind
    raise ValueError(f"unknown page type for URL {url!r}")


def query_int(url: str, name: str, default: int) -> int:
    """An integer query parameter of a URL (the page or offset of paged pages)."""
    values = parse_qs(urlsplit(url).query).get(name)
    try:
        return int(values[0]) if values else default
    except ValueError:
        return default


def anime_subpages(anime_id: int, source: str = "mal") -> list[str]:
    """Every page an anime's items need. Jikan v4 has no clubs endpoint, so its list has none."""
    aid = int(anime_id)
    if source == "mal":
        base = f"{MAL}/anime/{aid}/_"
        return [anime_url(aid), f"{base}/stats", f"{base}/userrecs", f"{base}/reviews?p=1", f"{base}/pics",
                f"{base}/clubs"]
    if source == "jikan":
        base = f"{JIKAN}/anime/{aid}"
        return [f"{base}/full", f"{base}/statistics", f"{base}/recommendations", f"{base}/reviews?page=1",
                f"{base}/pictures"]
    raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")


def animelist_url(user_name: str, offset: int = 0) -> str:
    return f"{MAL}/animelist/{quote(user_name)}/load.json?offset={int(offset)}&status=7"


def friends_url(user_name: str, page: int = 1, source: str = "mal") -> str:
    if source == "jikan":
        return f"{JIKAN}/users/{quote(user_name)}/friends?page={int(page)}"
    return f"{MAL}/profile/{quote(user_name)}/friends?p={int(page)}"


def profile_subpages(user_name: str, source: str = "mal") -> list[str]:
    """Profile, animelist load.json at offset 0, friends page 1, history.

    Jikan v4 dropped its animelist endpoint, so both sources read the list from MAL's load.json.
    """
    name = quote(user_name)
    if source == "mal":
        return [profile_url(user_name), animelist_url(user_name), friends_url(user_name),
                f"{MAL}/history/{name}/anime"]
    if source == "jikan":
        return [f"{JIKAN}/users/{name}/full", animelist_url(user_name), friends_url(user_name, 1, "jikan"),
                f"{JIKAN}/users/{name}/history/anime"]
    raise ValueError(f"unknown source {source!r} (known: {', '.join(SOURCES)})")


def is_allowed(url: str) -> bool:
    """True only for https URLs on myanimelist.net or api.jikan.moe (no credentials, no odd ports)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        return False
    return (parts.hostname or "").lower() in {"myanimelist.net", "www.myanimelist.net", "api.jikan.moe"}


def rebase(url: str, base: str | None) -> str:
    """Point a canonical MAL/Jikan URL at a mirror base (MAL paths at /, Jikan at /v4); None keeps it."""
    if not base:
        return url
    base = base.rstrip("/")
    for prefix in (JIKAN, MAL):
        if url.startswith(prefix + "/") or url == prefix:
            rest = url[len(prefix):]
            return base + ("/v4" if prefix == JIKAN else "") + rest
    return url


def canonical(url: str) -> str:
    """The real-site spelling of a MAL/Jikan or mirror URL (inverse of `rebase`)."""
    parts = urlsplit(url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    if source_of(url) == "jikan":
        return "https://api.jikan.moe" + tail
    return MAL + tail
