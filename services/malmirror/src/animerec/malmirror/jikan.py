"""Jikan v4 JSON for a world, shaped like the real responses (reactive-jikan fixtures)."""

from __future__ import annotations

import datetime as dt
import math

from animerec.malmirror import pages
from animerec.malmirror.pages import MAL, anime_href
from animerec.malmirror.world import STATUS_ORDER, World

PAGE = 25


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _date(d: dt.date | None) -> str | None:
    return f"{d.isoformat()}T00:00:00+00:00" if d else None


def _images(url: str) -> dict:
    base = url.rsplit(".", 1)[0]
    return {"jpg": {"image_url": url, "small_image_url": f"{base}t.jpg", "large_image_url": f"{base}l.jpg"},
            "webp": {"image_url": f"{base}.webp"}}


def _named(names, kind: str, base: int) -> list[dict]:
    return [{"mal_id": base + k, "type": "anime", "name": n, "url": f"{MAL}/anime/{kind}/{base + k}/{pages.slug(n)}"}
            for k, n in enumerate(names)]


def paginated(items, page: int, per_page: int = PAGE) -> tuple[list, dict]:
    last = max(1, math.ceil(len(items) / per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    return chunk, {"last_visible_page": last, "has_next_page": page < last,
                   "items": {"count": len(chunk), "total": len(items), "per_page": per_page}}


def anime(world: World, ai: int, *, full: bool) -> dict:
    a = world.anime[ai]
    votes = int(world.score_hist[ai].sum())
    season = pages._season(a.start) if a.type == "TV" else None
    data = {
        "mal_id": a.anime_id, "url": anime_href(world, ai), "images": _images(a.pic), "approved": True,
        "titles": [{"type": "Default", "title": a.title}], "title": a.title, "type": a.type, "source": a.source,
        "episodes": a.episodes, "status": a.status, "airing": a.status == "Currently Airing",
        "aired": {"from": _date(a.start), "to": _date(a.end), "string": ""},
        "score": round(float(world.score[ai]), 2) if votes else None, "scored_by": votes or None,
        "rank": int(world.score_rank[ai]) or None, "popularity": int(world.popularity_rank[ai]),
        "members": world.members(ai), "favorites": int(world.favorites[ai]), "synopsis": a.synopsis,
        "season": season.split()[0].lower() if season else None, "year": a.start.year if season else None,
        "studios": _named(a.studios, "producer", 14), "genres": _named(a.genres, "genre", 1), "explicit_genres": [],
        "themes": _named(a.themes, "genre", 50), "demographics": _named(a.demographics, "genre", 25),
    }
    if full:
        data["relations"] = relations(world, ai)
    return {"data": data}


def relations(world: World, ai: int) -> list[dict]:
    groups: dict[str, list[dict]] = {}
    for kind, t in world.related.get(ai, []):
        target = world.anime[t]
        groups.setdefault(kind, []).append({"mal_id": target.anime_id, "type": "anime", "name": target.title,
                                            "url": anime_href(world, t)})
    return [{"relation": kind, "entry": entries} for kind, entries in groups.items()]


def statistics(world: World, ai: int) -> dict:
    counts = dict(zip(STATUS_ORDER, (int(c) for c in world.status_counts[ai]), strict=True))
    hist = world.score_hist[ai]
    votes = max(1, int(hist.sum()))
    return {"data": {"watching": counts[1], "completed": counts[2], "on_hold": counts[3], "dropped": counts[4],
                     "plan_to_watch": counts[6], "total": sum(counts.values()),
                     "scores": [{"score": s, "votes": int(hist[s - 1]),
                                 "percentage": round(100 * hist[s - 1] / votes, 1)} for s in range(1, 11)]}}


def recommendations(world: World, ai: int) -> dict:
    a = world.anime[ai]
    return {"data": [{"entry": {"mal_id": world.anime[t].anime_id, "url": anime_href(world, t),
                                "images": _images(world.anime[t].pic), "title": world.anime[t].title},
                      "url": f"{MAL}/recommendations/anime/{a.anime_id}-{world.anime[t].anime_id}", "votes": n}
                     for t, n, _ in pages.recommendations(world, ai)]}


def reviews(world: World, ai: int, page: int, now: dt.datetime) -> dict:
    chunk, pagination = paginated(pages.reviews_of(world, ai), page, pages.REVIEWS_PER_PAGE)
    data = []
    for r in chunk:
        name = world.user_names[r["user"]]
        data.append({
            "mal_id": r["review_id"], "url": f"{MAL}/reviews.php?id={r['review_id']}", "type": "anime",
            "votes": r["helpful"], "date": _iso(now - dt.timedelta(seconds=r["ago"])),
            "review": pages.review_text(world, ai, r), "episodes_watched": r["episodes"],
            "scores": {k: r[k] for k in ("overall", "story", "animation", "sound", "character", "enjoyment")},
            "user": {"url": f"{MAL}/profile/{name}", "username": name}})
    return {"pagination": {k: pagination[k] for k in ("last_visible_page", "has_next_page")}, "data": data}


def pictures(world: World, ai: int) -> dict:
    return {"data": [_images(u.removesuffix("l.jpg") + ".jpg") for u in pages.picture_urls(world, ai)]}


def user(world: World, ui: int, now: dt.datetime, *, full: bool) -> dict:
    name = world.user_names[ui]
    data = {"mal_id": int(world.user_ids[ui]), "username": name, "url": f"{MAL}/profile/{name}",
            "last_online": _iso(now - dt.timedelta(seconds=int(world.last_online_ago[ui]))), "gender": None,
            "birthday": None, "location": None,
            "joined": _date((now - dt.timedelta(seconds=int(world.joined_ago[ui]))).date())}
    if full:
        data["statistics"] = statistics_of_user(world, ui)["data"]
        data["favorites"] = favorites(world, ui)["data"]
    return {"data": data}


def statistics_of_user(world: World, ui: int) -> dict:
    st = pages.profile_stats(world, ui)
    c = st["counts"]
    return {"data": {"anime": {"days_watched": st["days"], "mean_score": st["mean"], "watching": c[1],
                               "completed": c[2], "on_hold": c[3], "dropped": c[4], "plan_to_watch": c[6],
                               "total_entries": st["total"], "rewatched": 0, "episodes_watched": st["episodes"]}}}


def favorites(world: World, ui: int) -> dict:
    return {"data": {"anime": [{"mal_id": world.anime[f].anime_id, "url": anime_href(world, f),
                                "images": _images(world.anime[f].pic), "title": world.anime[f].title,
                                "type": world.anime[f].type} for f in world.favorite_anime(ui)],
                     "manga": [], "characters": [], "people": []}}


def friends(world: World, ui: int, page: int, now: dt.datetime) -> dict:
    chunk, pagination = paginated(world.friends(ui), page, 100)
    data = [{"user": {"username": world.user_names[int(world.f_user[i])],
                      "url": f"{MAL}/profile/{world.user_names[int(world.f_user[i])]}"},
             "last_online": _iso(now - dt.timedelta(seconds=int(world.last_online_ago[int(world.f_user[i])]))),
             "friends_since": _iso(now - dt.timedelta(seconds=int(world.f_since_ago[i])))} for i in chunk]
    return {"pagination": {k: pagination[k] for k in ("last_visible_page", "has_next_page")}, "data": data}


def history(world: World, ui: int, now: dt.datetime) -> dict:
    return {"data": [{"entry": {"mal_id": world.anime[ai].anime_id, "type": "anime", "name": world.anime[ai].title,
                                "url": f"{MAL}/anime/{world.anime[ai].anime_id}"},
                      "increment": ep, "date": _iso(now - dt.timedelta(seconds=ago))}
                     for ai, ep, ago in pages.history_entries(world, ui)]}


def top_anime(world: World, page: int) -> dict:
    chunk, pagination = paginated(world.ranking, page)
    return {"pagination": pagination, "data": [
        {"mal_id": world.anime[int(ai)].anime_id, "url": anime_href(world, int(ai)),
         "title": world.anime[int(ai)].title, "score": round(float(world.score[int(ai)]), 2),
         "rank": int(world.score_rank[int(ai)])} for ai in chunk]}


def users(world: World, page: int, now: dt.datetime) -> dict:
    chunk, pagination = paginated(range(world.n_users), page, 20)
    return {"pagination": {k: pagination[k] for k in ("last_visible_page", "has_next_page")}, "data": [
        {"url": f"{MAL}/profile/{world.user_names[u]}", "username": world.user_names[u],
         "last_online": _iso(now - dt.timedelta(seconds=int(world.last_online_ago[u])))} for u in chunk]}


def error(status: int, message: str) -> dict:
    kinds = {404: "BadResponseException", 429: "RateLimitException", 500: "InternalException",
             503: "ServiceUnavailableException"}
    return {"status": status, "type": kinds.get(status, "Exception"), "message": message, "error": None}
