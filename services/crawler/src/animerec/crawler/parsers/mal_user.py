"""MAL user pages: profile, friends, history, and the users.php discovery list."""

from __future__ import annotations

import re

from animerec.crawler import urls
from animerec.crawler.parsers.base import Ctx, anime_id_of, collect_links, subject, user_of
from animerec.crawler.parsers.values import clean, iso_z, mal_date, parse_relative, to_float, to_int
from animerec.crawler.parsers.xpath import first, has_class, labelled, text_of

# Shown instead of the list updates when the owner restricts the list (profile_private fixture).
PRIVATE_MARKERS = ("Access to this list has been restricted by the owner", "This profile is private")
_STATUS_CLASSES = ("watching", "completed", "on_hold", "dropped", "plan_to_watch")
FRIENDS_PER_PAGE = 100


def user_name(ctx: Ctx, doc) -> str:
    # Both readers match the schemas' user-name rule (contracts.user_name_pattern), so the name is valid.
    return subject(ctx, "user name", urls.user_name_from_url, doc, user_of)


def status_rows(doc) -> dict[str, object]:
    """'Last Online' -> the element with its value, from the profile's left column."""
    return labelled(doc, f'//*[{has_class("user-status-title")}]',
                    lambda title: first(title, f'following-sibling::*[{has_class("user-status-data")}][1]'))


def _user_id(doc) -> int | None:
    for href in doc.xpath('//a[contains(@href, "type=profile") and contains(@href, "id=")]/@href'
                          ' | //a[contains(@href, "rss.php?type=blog")]/@href'):
        m = re.search(r"[?&;]id=(\d+)", href)
        if m and int(m.group(1)) > 0:
            return int(m.group(1))
    return None


def parse_profile(ctx: Ctx, doc) -> None:
    name = user_name(ctx, doc)
    rows = status_rows(doc)
    stats = first(doc, f'//div[{has_class("stats")} and {has_class("anime")}]')
    if not rows and stats is None:
        raise ctx.fail("no profile status or statistics block")
    private = any(doc.xpath(f'//*[contains(text(), "{marker}")]') for marker in PRIVATE_MARKERS)
    last = parse_relative(text_of(rows.get("Last Online")), ctx.now)
    counts: dict[str, int | None] = dict.fromkeys(_STATUS_CLASSES)
    days = mean = None
    if stats is not None:
        for li in stats.xpath(f'.//ul[{has_class("stats-status")}]/li'):
            classes = (first(li, "./a/@class") or "").split()
            key = next((c for c in _STATUS_CLASSES if c in classes), None)
            if key:
                counts[key] = to_int(text_of(first(li, "./span")))
        for box in stats.xpath(f'.//div[{has_class("stat-score")}]/div'):
            text = clean(box.text_content()) or ""
            if text.startswith("Days"):
                days = to_float(text.split(":", 1)[-1])
            elif text.startswith("Mean Score"):
                mean = to_float(text.split(":", 1)[-1])
    clubs = []
    for href in doc.xpath('//a[contains(@href, "clubs.php?cid=")]/@href'):
        m = re.search(r"cid=(\d+)", href)
        if m and int(m.group(1)) not in clubs:
            clubs.append(int(m.group(1)))
    ctx.item("profile", user_name=name, user_id=_user_id(doc), user_url=urls.profile_url(name), private=private,
             last_online_date=iso_z(last) if last else None, joined_date=mal_date(text_of(rows.get("Joined"))),
             num_watching=counts["watching"], num_completed=counts["completed"], num_on_hold=counts["on_hold"],
             num_dropped=counts["dropped"], num_plan_to_watch=counts["plan_to_watch"], num_days=days,
             mean_score=mean if mean is None or 0 <= mean <= 10 else None, clubs=clubs)
    if private:
        ctx.page.status = "private"
    favs = doc.xpath(f'//ul[{has_class("favorites-list")} and {has_class("anime")}]//a/@href'
                     ' | //div[@id="anime_favorites"]//a/@href')
    for aid in dict.fromkeys(a for a in (anime_id_of(h) for h in favs) if a):
        ctx.item("favorite", user_name=name, anime_id=aid)
    collect_links(ctx, doc, skip_user=name)


def parse_friends(ctx: Ctx, doc) -> None:
    name = user_name(ctx, doc)
    blocks = doc.xpath(f'//div[{has_class("friendBlock")}] | //div[{has_class("boxlist")}]')
    for block in blocks:
        friend = next((user_of(h) for h in block.xpath(".//a/@href") if user_of(h)), None)
        if not friend or friend == name:
            continue
        since = re.search(r"Friends since\s*(.+?)\s*$", clean(block.text_content()) or "")
        moment = parse_relative(since.group(1), ctx.now) if since else None
        ctx.item("friend", user_name=name, friend_name=friend, friendship_date=iso_z(moment) if moment else None)
        ctx.link_user(friend)
    if not ctx.page.items:
        ctx.page.status = "empty"
    elif len(ctx.page.items) >= FRIENDS_PER_PAGE:
        if "offset=" in ctx.url:
            ctx.page.next_url = (f"{urls.MAL}/profile/{name}/friends"
                                 f"?offset={urls.query_int(ctx.url, 'offset', 0) + FRIENDS_PER_PAGE}")
        else:
            ctx.page.next_url = urls.friends_url(name, urls.query_int(ctx.url, "p", 1) + 1)


def parse_history(ctx: Ctx, doc) -> None:
    name = user_name(ctx, doc)
    for row in doc.xpath('//tr[td/a[contains(@href, "anime.php?id=") or contains(@href, "/anime/")]]'):
        cells = row.xpath("./td")
        aid = anime_id_of(first(cells[0], './/a/@href'))
        if not aid:
            continue
        episode = to_int(text_of(first(cells[0], ".//strong")))
        moment = parse_relative(text_of(cells[-1]), ctx.now) if len(cells) > 1 else None
        ctx.item("activity", user_name=name, anime_id=aid, episode=episode,
                 activity_date=iso_z(moment) if moment else None)
        ctx.link_anime(aid)
    if not ctx.page.items:
        ctx.page.status = "empty"


def parse_users(ctx: Ctx, doc) -> None:
    """users.php (recently online users): discovery only, profile links and no items."""
    collect_links(ctx, doc)
    if not ctx._links:
        ctx.page.status = "empty"
