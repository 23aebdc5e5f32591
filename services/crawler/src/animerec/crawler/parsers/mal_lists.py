"""MAL list endpoints: animelist load.json (paged by offset) and the top-anime ranking."""

from __future__ import annotations

import datetime as dt

from animerec.crawler import urls
from animerec.crawler.parsers.base import Ctx, anime_id_of, json_body
from animerec.crawler.parsers.values import clean, iso_z, mmddyy, to_int
from animerec.crawler.parsers.xpath import first, has_class

# load.json's numeric statuses (7 = "all" is a filter, never an entry status).
LIST_STATUS = {1: "watching", 2: "completed", 3: "on_hold", 4: "dropped", 6: "plan_to_watch"}
LIST_PAGE_SIZE = 300
TOP_PAGE_SIZE = 50


def _last_interaction(entry: dict) -> str | None:
    """updated_at (epoch seconds, newer lists) else the finish / start date the user entered."""
    updated = entry.get("updated_at")
    if isinstance(updated, (int, float)) and not isinstance(updated, bool) and updated > 0:
        return iso_z(dt.datetime.fromtimestamp(updated, dt.UTC))
    for key in ("finish_date_string", "start_date_string"):
        day = mmddyy(entry.get(key))
        if day:
            return f"{day}T00:00:00Z"
    return None


def parse_animelist(ctx: Ctx, body: bytes) -> None:
    name = urls.user_name_from_url(ctx.url)
    if name is None:
        raise ctx.fail("no user name in the URL")
    data = json_body(ctx, body)
    if isinstance(data, dict) and "errors" in data:
        # MAL answers a restricted list with {"errors": [{"message": "invalid request"}]}.
        ctx.page.status = "private"
        return
    if not isinstance(data, list):
        raise ctx.fail(f"expected a JSON list of entries, got {type(data).__name__}")
    for entry in data:
        if not isinstance(entry, dict):
            raise ctx.fail("list entry is not an object")
        aid = to_int(entry.get("anime_id"))
        status = LIST_STATUS.get(to_int(entry.get("status")))
        if not aid or aid < 1 or status is None:
            continue
        title = entry.get("anime_title")
        score = to_int(entry.get("score"))
        progress = to_int(entry.get("num_watched_episodes"))
        ctx.item("animelist_entry", user_name=name, anime_id=aid,
                 anime_title=None if title is None else clean(str(title)),  # numeric titles arrive as JSON numbers
                 status=status, score=score if score and 1 <= score <= 10 else None,
                 progress=progress if progress is not None and progress >= 0 else None,
                 last_interaction_date=_last_interaction(entry))
        ctx.link_anime(aid)
    if not data:
        ctx.page.status = "empty"
    elif len(data) >= LIST_PAGE_SIZE:
        ctx.page.next_url = urls.animelist_url(name, urls.query_int(ctx.url, "offset", 0) + len(data))


def parse_top_anime(ctx: Ctx, doc) -> None:
    """topanime.php: discovery only, anime links and the next ranking page."""
    rows = doc.xpath(f'//tr[{has_class("ranking-list")}]')
    for row in rows:
        for href in row.xpath(".//a/@href"):
            ctx.link_anime(anime_id_of(href))
    if not rows:
        ctx.page.status = "empty"
        return
    limit = urls.query_int(ctx.url, "limit", 0)
    nxt = first(doc, '//link[@rel="next"]/@href') or first(doc, f'//a[{has_class("next")}]/@href')
    if nxt or len(rows) >= TOP_PAGE_SIZE:
        query = ctx.url.split("?", 1)[1] if "?" in ctx.url else ""
        kept = "&".join(p for p in query.split("&") if p and not p.startswith("limit="))
        ctx.page.next_url = f"{urls.MAL}/topanime.php?{kept + '&' if kept else ''}limit={limit + len(rows)}"
