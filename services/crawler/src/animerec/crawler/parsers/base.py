"""What every parser shares: the Page result, ParseError, the item builder, MAL's links and pages."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import lxml.html
from lxml import etree

from animerec.common import contracts
from animerec.crawler import urls
from animerec.crawler.parsers.values import clean, iso_z
from animerec.crawler.parsers.xpath import either, first

STATUSES = ("ok", "private", "not_found", "empty")
T = TypeVar("T")


@dataclass
class Page:
    """One parsed page: its items (event-schema dicts), the MAL URLs it links to, the next page."""

    url: str
    page_type: str
    source: str                         # "mal" | "jikan"
    status: str = "ok"                  # "ok" | "private" | "not_found" | "empty"
    items: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    next_url: str | None = None


class ParseError(Exception):
    """A body that cannot be read as the page it claims to be; names the page type and URL."""

    def __init__(self, page_type: str, url: str, reason: str) -> None:
        super().__init__(f"cannot parse {page_type} page {url}: {reason}")
        self.page_type = page_type
        self.url = url
        self.reason = reason


@functools.lru_cache(maxsize=1)
def _schema_fields() -> dict[str, tuple[tuple[str, ...], frozenset[str]]]:
    """item_type -> (field names in schema order, the array-typed ones). Read once per process."""
    out = {}
    for name in contracts.ITEM_TYPES:
        props = contracts.event_schemas()[name]["properties"]
        arrays = frozenset(k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "array")
        out[name] = (tuple(props), arrays)
    return out


_CRAWL_KEYS = ("item_type", "crawled_at", "source", "source_url")


class Ctx:
    """The state of one parse: where the page came from, the items and links found so far."""

    def __init__(self, url: str, page_type: str, source: str, crawled_at: dt.datetime) -> None:
        self.url = url
        self.page_type = page_type
        self.source = source
        self.now = crawled_at
        self.crawled_at = iso_z(crawled_at)
        self.page = Page(url=url, page_type=page_type, source=source)
        self._links: dict[str, None] = {}

    def fail(self, reason: str) -> ParseError:
        return ParseError(self.page_type, self.url, reason)

    def item(self, item_type: str, **values: Any) -> dict[str, Any]:
        """Append one item with every schema field present: unknown scalars null, arrays empty."""
        names, arrays = _schema_fields()[item_type]
        item: dict[str, Any] = {"item_type": item_type, "crawled_at": self.crawled_at, "source": self.source,
                                "source_url": self.url}
        for name in names:
            if name in _CRAWL_KEYS:
                continue
            value = values.pop(name, None)
            item[name] = ([] if value is None else list(value)) if name in arrays else value
        if values:
            raise TypeError(f"{item_type} has no fields {sorted(values)}")
        self.page.items.append(item)
        return item

    def link_anime(self, anime_id: int | None) -> None:
        if anime_id and anime_id > 0:
            self._links.setdefault(urls.anime_url(anime_id), None)

    def link_user(self, name: str | None) -> None:
        if name and USER_NAME.match(name):
            self._links.setdefault(urls.profile_url(name), None)

    def finish(self) -> Page:
        self.page.links = list(self._links)
        return self.page


USER_NAME = re.compile(contracts.definition("user_name")["pattern"])  # the event schemas' rule, shared
# Relative links or absolute ones to MAL itself (the mirror writes MAL's absolute URLs too).
ANIME_HREF = re.compile(r"^(?:https?://(?:www\.)?myanimelist\.net)?/anime(?:/|\.php\?id=)(\d+)(?=[/?#&]|$)")
PROFILE_HREF = re.compile(rf"^(?:https?://(?:www\.)?myanimelist\.net)?/profile/({contracts.user_name_pattern()})/?(?=[?#]|$)")


def anime_id_of(href: str | None) -> int | None:
    """The anime id of a link ('/anime/5/x', 'https://myanimelist.net/anime/5', '/anime.php?id=5')."""
    if not href:
        return None
    m = ANIME_HREF.match(href.strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def user_of(href: str | None) -> str | None:
    if not href:
        return None
    m = PROFILE_HREF.match(href.strip())
    return m.group(1) if m else None


def subject(ctx: Ctx, what: str, from_url: Callable[[str], T | None], doc: Any = None,
            from_link: Callable[[str], T | None] | None = None) -> T:
    """What the page is about (an anime id, a user name): read from its URL, else (an HTML page) from the page's
    own og:url or canonical link; a ParseError naming `what` when neither has it."""
    found = from_url(ctx.url)
    if found is None and doc is not None and from_link is not None:
        for href in doc.xpath('//meta[@property="og:url"]/@content | //link[@rel="canonical"]/@href'):
            found = from_link(href)
            if found:
                break
    if found is None:
        raise ctx.fail(f"no {what} in the URL" + (" or the page" if doc is not None else ""))
    return found


def html(ctx: Ctx, body: bytes) -> etree._Element:
    """Parse HTML (utf-8, bad bytes replaced); a body with no MAL page structure is a ParseError."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, (bytes, bytearray)) else str(body)
    if not text.strip():
        raise ctx.fail("empty body")
    # Every real MAL page ends with </html>; a body without it was cut off in transfer, and its
    # missing half would otherwise read as "no reviews" / "no friends".
    if "</html>" not in text[-4096:].lower():
        raise ctx.fail("truncated body (no closing </html>)")
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ctx.fail(f"not HTML ({exc})") from None
    if not doc.xpath('//*[@id="contentWrapper" or @id="content" or @id="myanimelist"]'):
        raise ctx.fail("not a MyAnimeList page (no content container)")
    return doc


def is_not_found(doc) -> bool:
    """MAL's 404 page: titled '404 Not Found', og:url .../error/404 (only <head> is read: it is cheap)."""
    title = clean(" ".join(doc.xpath("/html/head/title//text()"))) or ""
    og = first(doc, '/html/head/meta[@property="og:url"]/@content') or ""
    return title.startswith("404") or og.rstrip("/").endswith("/error/404")


def collect_links(ctx: Ctx, doc, *, skip_anime: int | None = None, skip_user: str | None = None) -> None:
    """Every anime and profile linked from the page's content area (header/footer menus excluded)."""
    root = either(first(doc, '//*[@id="content"]'), first(doc, '//*[@id="contentWrapper"]'), doc)
    for href in root.xpath(".//a/@href"):
        aid = anime_id_of(href)
        if aid and aid != skip_anime:
            ctx.link_anime(aid)
            continue
        name = user_of(href)
        if name and name != skip_user:
            ctx.link_user(name)


def json_body(ctx: Ctx, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ctx.fail(f"not JSON ({exc.__class__.__name__}: {str(exc)[:80]})") from None
