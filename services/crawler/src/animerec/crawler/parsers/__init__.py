"""MyAnimeList HTML and Jikan v4 JSON parsers: `parse(url, body)` -> Page of event-schema items.

Pure functions of (URL, bytes): no network, no clock unless `crawled_at` is left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from animerec.crawler import urls
from animerec.crawler.parsers import jikan, mal_anime, mal_lists, mal_user
from animerec.crawler.parsers.base import STATUSES, Ctx, Page, ParseError, html, is_not_found
from animerec.crawler.parsers.values import parse_iso
from animerec.crawler.parsers.xpath import first

__all__ = ["PAGE_TYPES", "STATUSES", "Page", "ParseError", "parse"]

PAGE_TYPES = urls.PAGE_TYPES

# page type -> parser of the parsed HTML document
_MAL_HTML: dict[str, Callable] = {
    "anime": mal_anime.parse_anime, "anime_stats": mal_anime.parse_stats,
    "anime_userrecs": mal_anime.parse_userrecs, "anime_reviews": mal_anime.parse_reviews,
    "anime_pics": mal_anime.parse_pics, "anime_clubs": mal_anime.parse_clubs,
    "profile": mal_user.parse_profile, "friends": mal_user.parse_friends, "history": mal_user.parse_history,
    "users": mal_user.parse_users, "top_anime": mal_lists.parse_top_anime,
}
# page type -> parser of the raw JSON body
_JSON: dict[tuple[str, str], Callable] = {
    ("mal", "animelist"): mal_lists.parse_animelist,
    ("jikan", "animelist"): mal_lists.parse_animelist,
    ("jikan", "anime"): jikan.anime, ("jikan", "anime_stats"): jikan.anime_stats,
    ("jikan", "anime_userrecs"): jikan.anime_userrecs, ("jikan", "anime_reviews"): jikan.anime_reviews,
    ("jikan", "anime_pics"): jikan.anime_pics, ("jikan", "profile"): jikan.profile,
    ("jikan", "friends"): jikan.friends, ("jikan", "history"): jikan.history,
    ("jikan", "top_anime"): jikan.top_anime, ("jikan", "users"): jikan.users,
}


def _moment(crawled_at: str | None) -> dt.datetime:
    if crawled_at is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    value = parse_iso(crawled_at)
    if value is None:
        raise ValueError(f"crawled_at is not an RFC 3339 timestamp: {crawled_at!r}")
    return value


def _check_same_page(ctx: Ctx, doc) -> None:
    """MAL names each page in og:url; a body for another page type (a manga page, a characters tab,
    a redirect) must not be read as this one."""
    og = first(doc, '/html/head/meta[@property="og:url"]/@content')
    if not og or "myanimelist.net" not in og:
        return
    try:
        actual = urls.page_type(og.strip())
    except ValueError:
        actual = None
    if actual != ctx.page_type:
        raise ctx.fail(f"the body is the page {og.strip()}, not a {ctx.page_type} page")


def parse(url: str, body: bytes, *, page_type: str | None = None, crawled_at: str | None = None) -> Page:
    """Parse one MAL page or Jikan response. The page type comes from the URL unless given.

    Returns a Page whose status says ok / private / not_found / empty; raises ParseError (one
    message naming page type and URL) for a body that is not the page it should be.
    """
    if page_type is None:
        try:
            page_type = urls.page_type(url)
        except ValueError as exc:
            raise ParseError("unknown", url, str(exc)) from None
    elif page_type not in PAGE_TYPES:
        raise ParseError(page_type, url, f"unknown page type (known: {', '.join(PAGE_TYPES)})")
    source = urls.source_of(url)
    ctx = Ctx(url, page_type, source, _moment(crawled_at))
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        json_parser = _JSON.get((source, page_type))
        if json_parser is not None:
            json_parser(ctx, body)
        elif source == "mal":
            doc = html(ctx, body)
            if is_not_found(doc):  # MAL's 404 page, whichever page was asked for
                ctx.page.status = "not_found"
            else:
                _check_same_page(ctx, doc)
                _MAL_HTML[page_type](ctx, doc)
        else:
            raise ctx.fail(f"Jikan v4 has no {page_type} endpoint")
    except ParseError:
        raise
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        # A shape the parser did not foresee (e.g. a list where an object should be): one clear error.
        raise ctx.fail(f"unexpected page structure ({exc.__class__.__name__}: {exc})") from exc
    return ctx.finish()
