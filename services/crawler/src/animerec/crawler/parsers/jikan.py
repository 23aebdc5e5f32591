"""Jikan v4 JSON: the same page types and item fields as the MAL HTML parsers.

Jikan wraps everything in {"data": ...} (+ "pagination" on lists) and reports failures as
{"status": 404, "type": "...", "message": "..."}.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from animerec.crawler import urls
from animerec.crawler.parsers.base import USER_NAME, Ctx, anime_id_of, json_body, subject, user_of
from animerec.crawler.parsers.mal_anime import SEASONS
from animerec.crawler.parsers.values import date_or_none, iso_or_none, to_float, to_int


def _data(ctx: Ctx, body: bytes) -> tuple[Any, dict]:
    doc = json_body(ctx, body)
    if not isinstance(doc, dict):
        raise ctx.fail(f"expected a JSON object, got {type(doc).__name__}")
    if "data" not in doc:
        status = to_int(doc.get("status"))
        if status == 404:
            ctx.page.status = "not_found"
            return None, doc
        raise ctx.fail(f"Jikan error {doc.get('status')}: {doc.get('type') or ''} {doc.get('message') or ''}".strip())
    return doc["data"], doc


def _found(parse: Callable[[Ctx, Any, dict], None]) -> Callable[[Ctx, bytes], None]:
    """A parser of one Jikan response: a 404 marks the page not_found and reads nothing; otherwise
    `parse(ctx, data, doc)` gets what is under 'data' and the whole document."""
    @functools.wraps(parse)
    def read(ctx: Ctx, body: bytes) -> None:
        data, doc = _data(ctx, body)
        if data is not None:
            parse(ctx, data, doc)
    return read


def _next_page(ctx: Ctx, doc: dict) -> None:
    pagination = doc.get("pagination") or {}
    if pagination.get("has_next_page"):
        page = urls.query_int(ctx.url, "page", 1)
        base, _, query = ctx.url.partition("?")
        kept = [p for p in query.split("&") if p and not p.startswith("page=")]
        ctx.page.next_url = urls.canonical(f"{base}?{'&'.join([*kept, f'page={page + 1}'])}")


def _names(*groups) -> list[str]:
    out: list[str] = []
    for group in groups:
        for entry in group or ():
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name and name not in out:
                out.append(name)
    return out


def _image(images: Any) -> str | None:
    jpg = (images or {}).get("jpg") or {} if isinstance(images, dict) else {}
    return jpg.get("large_image_url") or jpg.get("image_url") or None


def _relation(text: str | None) -> str | None:
    return text[:1].upper() + text[1:].lower() if isinstance(text, str) and text else None


def _anime_id(ctx: Ctx) -> int:
    return subject(ctx, "anime id", urls.anime_id_from_url)


def _relations(ctx: Ctx, aid: int, groups) -> None:
    for group in groups or ():
        relation = _relation(group.get("relation"))
        for entry in group.get("entry") or ():
            target = to_int(entry.get("mal_id"))
            if relation and target and entry.get("type") == "anime":
                ctx.item("anime_related", anime_id=aid, related_anime_id=target, relation_type=relation)
                ctx.link_anime(target)


@_found
def anime(ctx: Ctx, data: Any, _doc: dict) -> None:
    aid = _anime_id(ctx)
    if isinstance(data, list):  # /anime/{id}/relations
        _relations(ctx, aid, data)
        return
    title = data.get("title") or next((t.get("title") for t in data.get("titles") or () if t.get("title")), None)
    if not title:
        raise ctx.fail("anime without a title")
    aired = data.get("aired") or {}
    season, year = data.get("season"), data.get("year")
    score = to_float(data.get("score"))
    ctx.item(
        "anime_info", anime_id=aid, anime_url=urls.anime_url(aid), title=str(title), synopsis=data.get("synopsis"),
        main_pic=_image(data.get("images")), type=data.get("type"), source_type=data.get("source"),
        num_episodes=to_int(data.get("episodes")), status=data.get("status"),
        start_date=date_or_none(aired.get("from")), end_date=date_or_none(aired.get("to")),
        season=f"{season} {year}".lower() if str(season).lower() in SEASONS and year else None,
        studios=_names(data.get("studios")),
        genres=_names(data.get("genres"), data.get("explicit_genres"), data.get("themes"), data.get("demographics")),
        score=score if score and 1 <= score <= 10 else None, score_count=to_int(data.get("scored_by")),
        score_rank=to_int(data.get("rank")) or None, popularity_rank=to_int(data.get("popularity")) or None,
        members_count=to_int(data.get("members")), favorites_count=to_int(data.get("favorites")),
    )
    _relations(ctx, aid, data.get("relations"))


@_found
def anime_stats(ctx: Ctx, data: Any, _doc: dict) -> None:
    if not isinstance(data, dict):
        raise ctx.fail("statistics is not an object")
    scores = {}
    for entry in data.get("scores") or ():
        score = to_int(entry.get("score"))
        if score and 1 <= score <= 10:
            scores[f"score_{score:02d}_count"] = to_int(entry.get("votes"))
    ctx.item("anime_stats", anime_id=_anime_id(ctx), watching_count=to_int(data.get("watching")),
             completed_count=to_int(data.get("completed")), on_hold_count=to_int(data.get("on_hold")),
             dropped_count=to_int(data.get("dropped")), plan_to_watch_count=to_int(data.get("plan_to_watch")),
             total_count=to_int(data.get("total")), **scores)


def _entries(ctx: Ctx, body: bytes, *, paged: bool = False) -> list:
    """The entries of a list response (none for a 404); a paged one that had any also links its next page."""
    data, doc = _data(ctx, body)
    if data is None:
        return []
    if not isinstance(data, list):
        raise ctx.fail(f"expected a list under 'data', got {type(data).__name__}")
    if not data:
        ctx.page.status = "empty"
    elif paged:
        _next_page(ctx, doc)
    return data


def anime_userrecs(ctx: Ctx, body: bytes) -> None:
    data = _entries(ctx, body)
    aid = _anime_id(ctx)
    for rec in data:
        target = to_int((rec.get("entry") or {}).get("mal_id"))
        if target and target != aid:
            ctx.item("anime_recommendation", anime_id=aid, recommended_anime_id=target,
                     recommendation_url=rec.get("url"), num_recommenders=to_int(rec.get("votes")))
            ctx.link_anime(target)


def _score(value) -> int | None:
    value = to_int(value)
    return value if value is not None and 0 <= value <= 10 else None


def anime_reviews(ctx: Ctx, body: bytes) -> None:
    data = _entries(ctx, body, paged=True)
    aid = _anime_id(ctx)
    for review in data:
        rid = to_int(review.get("mal_id"))
        user = (review.get("user") or {}).get("username")
        if not rid or not isinstance(user, str) or not USER_NAME.match(user):
            continue
        scores = review.get("scores") or {}
        useful = review.get("votes")
        if useful is None:
            useful = (review.get("reactions") or {}).get("overall")
        ctx.item("anime_review", review_id=rid, anime_id=aid, user_name=user,
                 review_date=date_or_none(review.get("date")), review_num_useful=to_int(useful),
                 review_score=_score(scores.get("overall", review.get("score"))),
                 review_story_score=_score(scores.get("story")), review_animation_score=_score(scores.get("animation")),
                 review_sound_score=_score(scores.get("sound")), review_character_score=_score(scores.get("character")),
                 review_enjoyment_score=_score(scores.get("enjoyment")), text=review.get("review"))
        ctx.link_user(user)


def anime_pics(ctx: Ctx, body: bytes) -> None:
    data = _entries(ctx, body)
    aid = _anime_id(ctx)
    for picture in data:
        url = _image(picture)
        if url:
            ctx.item("anime_picture", anime_id=aid, picture_url=url)


def _user(ctx: Ctx) -> str:
    return subject(ctx, "user name", urls.user_name_from_url)


def _favorites(ctx: Ctx, name: str, favorites: Any) -> None:
    for fav in (favorites or {}).get("anime") or () if isinstance(favorites, dict) else ():
        aid = to_int(fav.get("mal_id")) or anime_id_of(fav.get("url"))
        if aid:
            ctx.item("favorite", user_name=name, anime_id=aid)
            ctx.link_anime(aid)


@_found
def profile(ctx: Ctx, data: Any, _doc: dict) -> None:
    """/users/{name}[/full] -> profile (+ favorites); /favorites, /statistics, /clubs -> what they hold."""
    name = _user(ctx)
    tail = ctx.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if tail == "favorites":
        _favorites(ctx, name, data)
        return
    if tail == "clubs":
        clubs = [c for c in (to_int(x.get("mal_id")) for x in data or ()) if c]
        ctx.item("profile", user_name=name, user_url=urls.profile_url(name), private=False, clubs=clubs)
        return
    if not isinstance(data, dict):
        raise ctx.fail("profile is not an object")
    stats = (data.get("statistics") or {}).get("anime") or {}
    if tail == "statistics":
        stats = data.get("anime") or {}
    mean = to_float(stats.get("mean_score"))
    ctx.item("profile", user_name=data.get("username") or name, user_id=to_int(data.get("mal_id")) or None,
             user_url=urls.profile_url(data.get("username") or name), private=False,
             last_online_date=iso_or_none(data.get("last_online")), joined_date=date_or_none(data.get("joined")),
             num_watching=to_int(stats.get("watching")), num_completed=to_int(stats.get("completed")),
             num_on_hold=to_int(stats.get("on_hold")), num_dropped=to_int(stats.get("dropped")),
             num_plan_to_watch=to_int(stats.get("plan_to_watch")), num_days=to_float(stats.get("days_watched")),
             mean_score=mean if mean is None or 0 <= mean <= 10 else None)
    _favorites(ctx, name, data.get("favorites"))


def friends(ctx: Ctx, body: bytes) -> None:
    data = _entries(ctx, body, paged=True)
    name = _user(ctx)
    for friend in data:
        other = (friend.get("user") or {}).get("username")
        if isinstance(other, str) and USER_NAME.match(other) and other != name:
            ctx.item("friend", user_name=name, friend_name=other,
                     friendship_date=iso_or_none(friend.get("friends_since")))
            ctx.link_user(other)


def history(ctx: Ctx, body: bytes) -> None:
    data = _entries(ctx, body)
    name = _user(ctx)
    for entry in data:
        target = entry.get("entry") or {}
        aid = to_int(target.get("mal_id"))
        if aid and target.get("type", "anime") == "anime":
            ctx.item("activity", user_name=name, anime_id=aid, episode=to_int(entry.get("increment")),
                     activity_date=iso_or_none(entry.get("date")))
            ctx.link_anime(aid)


def top_anime(ctx: Ctx, body: bytes) -> None:
    """/top/anime, /seasons/..., /schedules, /anime?q=: discovery only."""
    data = _entries(ctx, body, paged=True)
    for entry in data:
        ctx.link_anime(to_int(entry.get("mal_id")) or anime_id_of(entry.get("url")))


@_found
def users(ctx: Ctx, data: Any, doc: dict) -> None:
    """/users?q= and /random/users: discovery only."""
    entries = data if isinstance(data, list) else [data]
    for entry in entries:
        name = entry.get("username") if isinstance(entry, dict) else None
        ctx.link_user(name if isinstance(name, str) else user_of(entry.get("url")) if isinstance(entry, dict) else None)
    if not entries:
        ctx.page.status = "empty"
    else:
        _next_page(ctx, doc)
