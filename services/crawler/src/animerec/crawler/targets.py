"""What a crawl request is about: an anime or a profile (the schedule tables' canonical URL), or a seed
listing. Only canonical MyAnimeList / Jikan URLs are accepted: the crawler is not an open proxy."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from animerec.crawler import urls

KINDS = ("anime", "profile")
SEEDS = {
    # seed name -> listing URL per source; the listing's links fill the schedule tables
    "anime/top": {"mal": f"{urls.MAL}/topanime.php", "jikan": f"{urls.JIKAN}/top/anime?page=1"},
    "profile/recent": {"mal": f"{urls.MAL}/users.php", "jikan": f"{urls.JIKAN}/users"},
}


class TargetError(ValueError):
    """A URL the crawler refuses: wrong host, not an anime or profile page, bad source."""


@dataclass(frozen=True)
class Target:
    kind: str        # "anime" | "profile" | "seed"
    url: str         # canonical MAL URL of the anime or profile (schedule-table key); the listing for seeds
    source: str      # "mal" | "jikan"

    @property
    def key(self) -> str:
        """The Kafka key of this target's items: the anime id or the user name."""
        if self.kind == "anime":
            return str(urls.anime_id_from_url(self.url))
        if self.kind == "profile":
            return urls.user_name_from_url(self.url) or self.url
        return self.url

    def start_urls(self) -> list[str]:
        if self.kind == "anime":
            return urls.anime_subpages(urls.anime_id_from_url(self.url), self.source)
        if self.kind == "profile":
            return urls.profile_subpages(urls.user_name_from_url(self.url), self.source)
        return [self.url]


def resolve(url: object, source: str | None = None, kind: str | None = None) -> Target:
    """The anime or profile a MAL / Jikan URL is about (any of its sub-pages works).

    `source` defaults to the URL's own (api.jikan.moe -> jikan); `kind`, when given, must match.
    """
    if not isinstance(url, str) or not url:
        raise TargetError("URL must be a non-empty string")
    if not urls.is_allowed(url):
        raise TargetError(f"{url[:200]!r}: only https://myanimelist.net and https://api.jikan.moe URLs are accepted")
    if source is not None and source not in urls.SOURCES:
        raise TargetError(f"source must be one of {', '.join(urls.SOURCES)}, got {source!r}")
    anime_id = urls.anime_id_from_url(url)
    name = urls.user_name_from_url(url)
    if anime_id is not None:
        target = Target("anime", urls.anime_url(anime_id), source or urls.source_of(url))
    elif name is not None:
        target = Target("profile", urls.profile_url(name), source or urls.source_of(url))
    else:
        raise TargetError(f"{url[:200]!r}: not an anime or profile URL")
    if kind is not None and kind != target.kind:
        raise TargetError(f"{url[:200]!r} is a {target.kind} URL, not {kind}")
    return target


def seed(name: str, source: str) -> Target:
    if name not in SEEDS:
        raise TargetError(f"unknown seed {name!r} (known: {', '.join(SEEDS)})")
    if source not in urls.SOURCES:
        raise TargetError(f"source must be one of {', '.join(urls.SOURCES)}, got {source!r}")
    return Target("seed", SEEDS[name][source], source)


def rebase(url: str, mal_base: str, jikan_base: str) -> str:
    """Where a canonical URL is actually fetched from (the real sites, or a mirror)."""
    for prefix, base in ((urls.JIKAN, jikan_base), (urls.MAL, mal_base)):
        if url == prefix or url.startswith(prefix + "/") or url.startswith(prefix + "?"):
            return base.rstrip("/") + url[len(prefix):]
    raise TargetError(f"{url[:200]!r} is not a canonical MAL / Jikan URL")


def host_of(url: str) -> str:
    """The politeness slot of a canonical URL: one per real host, even when both go to one mirror."""
    return "api.jikan.moe" if url.startswith(urls.JIKAN) else "myanimelist.net"


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in, to compare where requests go."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme, -1)
