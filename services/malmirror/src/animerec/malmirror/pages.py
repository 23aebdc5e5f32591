"""MyAnimeList HTML for a world, in the markup of the real pages the parsers are proven on:
anime pages as MAL served them in 2021 (MyAnimeList-Database fixtures), profiles, friends, history,
top anime and users.php as in 2017-2018 (aqua / jikan / mal-scraper fixtures).

Links are MAL's absolute https://myanimelist.net URLs, as on the real site; og:url names the page.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from html import escape

import numpy as np

from animerec.malmirror.world import EP_MINUTES, STATUS_ORDER, World

MAL = "https://myanimelist.net"
REVIEWS_PER_PAGE = 20
FRIENDS_PER_PAGE = 100
TOP_PER_PAGE = 50
USERS_PER_PAGE = 20
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", title).strip("_") or "_"


def anime_href(world: World, ai: int) -> str:
    a = world.anime[ai]
    return f"{MAL}/anime/{a.anime_id}/{slug(a.title)}"


def fmt_int(n: int) -> str:
    return f"{int(n):,}"


def fmt_date(d: dt.date) -> str:
    return f"{_MONTHS[d.month - 1]} {d.day}, {d.year}"


def _clock(moment: dt.datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def fmt_ago(ago: int, now: dt.datetime) -> str:
    """How MAL prints a past moment: Now, 5 minutes ago, 3 hours ago, Yesterday, 9:01 AM,
    May 4, 8:09 AM (this year), Apr 4, 2016 (earlier)."""
    ago = max(0, int(ago))
    moment = now - dt.timedelta(seconds=ago)
    if ago < 60:
        return "Now"
    if ago < 3600:
        m = ago // 60
        return f"{m} minute{'s' if m != 1 else ''} ago"
    if ago < 86400:
        h = ago // 3600
        return f"{h} hour{'s' if h != 1 else ''} ago"
    if moment.date() == now.date() - dt.timedelta(days=1):
        return f"Yesterday, {_clock(moment)}"
    if moment.year == now.year:
        return f"{_MONTHS[moment.month - 1]} {moment.day}, {_clock(moment)}"
    return fmt_date(moment.date())


def page(title: str, og_url: str, body: str, *, head: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"><title>{escape(title)} - MyAnimeList.net'
            f'</title><meta property="og:url" content="{escape(og_url)}"><meta property="og:title" '
            f'content="{escape(title)}">{head}</head>\n<body><div id="myanimelist"><div id="contentWrapper">'
            f"{body}</div></div></body>\n</html>\n")


def not_found() -> str:
    return page("404 Not Found", f"{MAL}/error/404", '<div><h1 class="h1">404 Not Found</h1></div><div id="content">'
                '<div class="error404" title="This page doesn\'t exist."><p>This page doesn\'t exist.</p></div></div>')


# ---------------------------------------------------------------------------------------- anime
def _header(world: World, ai: int, tab: str) -> str:
    a = world.anime[ai]
    return (f'<div class="h1 edit-info"><div class="h1-title"><div itemprop="name"><h1 class="title-name h1_bold_none">'
            f"<strong>{escape(a.title)}</strong></h1></div></div></div>"
            f'<div id="horiznav_nav"><ul><li><a href="{anime_href(world, ai)}">Details</a></li>'
            f'<li><a href="{anime_href(world, ai)}/{tab}" class="horiznav_active">{tab}</a></li></ul></div>')


def _links(items: list[tuple[str, str]], kind: str) -> str:
    return ", ".join(f'<a href="/anime/{kind}/{i}/{slug(name)}" title="{escape(name)}">{escape(name)}</a>'
                     for i, name in items)


def _genre_row(label: str, names: tuple[str, ...], base: int) -> str:
    if not names:
        return ""
    cells = ", ".join(f'<span itemprop="genre" style="display: none">{escape(n)}</span>'
                      f'<a href="/anime/genre/{base + k}/{slug(n)}" title="{escape(n)}">{escape(n)}</a>'
                      for k, n in enumerate(names))
    return f'<div class="spaceit_pad"><span class="dark_text">{label}:</span> {cells}</div>'


def _season(d: dt.date | None) -> str | None:
    if d is None:
        return None
    return ("Winter", "Spring", "Summer", "Fall")[(d.month - 1) // 3] + f" {d.year}"


def anime_main(world: World, ai: int) -> str:
    a = world.anime[ai]
    score = world.score[ai]
    votes = int(world.score_hist[ai].sum())
    rank = int(world.score_rank[ai])
    aired = "Not available" if a.start is None else fmt_date(a.start) + (
        f" to {fmt_date(a.end)}" if a.end else (" to ?" if a.status == "Currently Airing" else ""))
    season = _season(a.start) if a.type == "TV" else None
    rows = [
        f'<div class="spaceit_pad"><span class="dark_text">Type:</span> '
        f'<a href="{MAL}/topanime.php?type={(a.type or "").lower()}">{escape(a.type or "Unknown")}</a></div>',
        f'<div class="spaceit_pad"><span class="dark_text">Episodes:</span> {a.episodes or "Unknown"}</div>',
        f'<div class="spaceit_pad"><span class="dark_text">Status:</span> {escape(a.status)}</div>',
        f'<div class="spaceit_pad"><span class="dark_text">Aired:</span> {aired}</div>',
        (f'<div class="spaceit_pad"><span class="dark_text">Premiered:</span> <a href="{MAL}/anime/season/'
         f'{season.split()[1]}/{season.split()[0].lower()}">{season}</a></div>') if season else "",
        f'<div class="spaceit_pad"><span class="dark_text">Studios:</span> '
        f'{_links([(14 + k, s) for k, s in enumerate(a.studios)], "producer") or "None found"}</div>',
        f'<div class="spaceit_pad"><span class="dark_text">Source:</span> {escape(a.source or "Unknown")}</div>',
        _genre_row("Genres", a.genres, 1), _genre_row("Themes", a.themes, 50),
        _genre_row("Demographic", a.demographics, 25),
        f'<div class="spaceit_pad"><span class="dark_text">Duration:</span> {EP_MINUTES} min. per ep.</div>',
        "<br><h2>Statistics</h2>",
        ('<div class="spaceit_pad po-r js-statistics-info di-ib" itemprop="aggregateRating"><span class="dark_text">'
         f'Score:</span> <span class="score-label" itemprop="ratingValue">{score:.2f}</span><sup>1</sup> (scored by '
         f'<span itemprop="ratingCount">{votes}</span> users)</div>') if votes else
        '<div class="spaceit_pad"><span class="dark_text">Score:</span> <span>N/A</span><sup>1</sup></div>',
        f'<div class="spaceit_pad"><span class="dark_text">Ranked:</span> {f"#{rank}" if rank else "N/A"}<sup>2</sup>'
        f'<div class="statistics-info info2"><small><sup>2</sup> based on the top anime page.</small></div></div>',
        f'<div class="spaceit_pad"><span class="dark_text">Popularity:</span> #{int(world.popularity_rank[ai])}</div>',
        f'<div class="spaceit_pad"><span class="dark_text">Members:</span> {fmt_int(world.members(ai))}</div>',
        f'<div class="spaceit_pad"><span class="dark_text">Favorites:</span> {fmt_int(world.favorites[ai])}</div>',
    ]
    related = world.related.get(ai, [])
    rel_rows = "".join(
        f'<tr><td class="ar fw-n borderClass" nowrap="" valign="top">{escape(kind)}:</td>'
        f'<td class="borderClass" width="100%"><a href="/anime/{world.anime[t].anime_id}/{slug(world.anime[t].title)}">'
        f"{escape(world.anime[t].title)}</a></td></tr>" for kind, t in related)
    recs = recommendations(world, ai)[:5]
    rec_html = "".join(f'<li><a href="{anime_href(world, t)}">{escape(world.anime[t].title)}</a></li>'
                       for t, _, _ in recs)
    body = (
        f'{_header(world, ai, "details")}<div id="content"><table><tr><td class="borderClass" width="225">'
        f'<div class="leftside"><div style="text-align: center;"><img class="ac" itemprop="image" '
        f'data-src="{escape(a.pic)}" alt="{escape(a.title)}"></div><h2>Information</h2>{"".join(rows)}</div></td>'
        f'<td valign="top"><div class="anime-detail-header-stats"><div class="fl-l score" data-title="score" '
        f'data-user="{fmt_int(votes)} users"><div class="score-label">{f"{score:.2f}" if votes else "N/A"}</div></div>'
        f'<span class="numbers ranked">Ranked <strong>{f"#{rank}" if rank else "N/A"}</strong></span>'
        f'<span class="numbers popularity">Popularity <strong>#{int(world.popularity_rank[ai])}</strong></span>'
        f'<span class="numbers members">Members <strong>{fmt_int(world.members(ai))}</strong></span></div>'
        f'<h2>Synopsis</h2><p itemprop="description">{escape(a.synopsis)}</p>'
        + (f'<h2>Related Anime</h2><table class="anime_detail_related_anime" style="border-spacing:0px;">'
           f"{rel_rows}</table>" if related else "")
        + (f"<h2>Recommendations</h2><ul>{rec_html}</ul>" if rec_html else "")
        + "</td></tr></table></div>")
    return page(a.title, anime_href(world, ai), body, head=f'<meta property="og:image" content="{escape(a.pic)}">')


def anime_stats(world: World, ai: int) -> str:
    counts = world.status_counts[ai]
    labels = ("Watching", "Completed", "On-Hold", "Dropped", "Plan to Watch")
    summary = "".join(f'<div class="spaceit_pad"><span class="dark_text">{label}:</span> {fmt_int(c)}</div>'
                      for label, c in zip(labels, counts, strict=True))
    summary += f'<div class="spaceit_pad"><span class="dark_text">Total:</span> {fmt_int(counts.sum())}</div>'
    hist = world.score_hist[ai]
    votes = max(1, int(hist.sum()))
    rows = "".join(
        f'<tr><td class="score-label score-{s}" width="20">{s}</td><td><div class="spaceit_pad">'
        f'<div class="updatesBar" style="float: left; height: 15px; width: {100 * hist[s - 1] / votes:.1f}%;"></div>'
        f'<span>&nbsp;'
        f'{100 * hist[s - 1] / votes:.1f}% <small>({int(hist[s - 1])} votes)</small></span></div></td></tr>'
        for s in range(10, 0, -1))
    body = (f'{_header(world, ai, "stats")}<div id="content"><h2>Summary Stats</h2>{summary}<br><h2>Score Stats</h2>'
            f'<table border="0" cellpadding="0" cellspacing="0" class="score-stats" width="100%">{rows}</table></div>')
    return page(f"{world.anime[ai].title} - Statistics", f"{anime_href(world, ai)}/stats", body)


def recommendations(world: World, ai: int) -> list[tuple[int, int, list[int]]]:
    """(anime index, number of recommenders, recommender user indices): anime of the same cluster,
    more popular ones recommended by more users."""
    return world.memo(("recs", ai), lambda: _recs(world, ai))


def _recs(world: World, ai: int) -> list[tuple[int, int, list[int]]]:
    rng = world.rng("recs", ai)
    cluster = world.anime[ai].cluster
    same = [i for i in range(max(0, ai - 60), min(world.n_anime, ai + 60)) if i != ai and world.anime[i].cluster
            == cluster]
    if not same:
        return []
    picks = rng.choice(same, size=min(len(same), int(rng.integers(0, 12))), replace=False)
    users = world.entry_user(world.anime_users(ai)) if world.members(ai) else np.zeros(0, dtype=np.int64)
    out = []
    for t in picks:
        n = 1 + int(rng.poisson(math.log1p(world.members(int(t)))))
        who = [int(u) for u in rng.choice(users, size=min(n, len(users)), replace=False)] if len(users) else []
        if who:
            out.append((int(t), len(who), who))
    out.sort(key=lambda r: (-r[1], r[0]))
    return out


def anime_userrecs(world: World, ai: int) -> str:
    a = world.anime[ai]
    blocks = []
    for k, (t, n, who) in enumerate(recommendations(world, ai)):
        target = world.anime[t]
        first_name = world.user_names[who[0]]
        more = (f'<div class="spaceit"><a class="js-similar-recommendations-button" data-id="{k}" '
                f'href="javascript:void(0);">Read recommendations by <strong>{n - 1}</strong> more users</a></div>'
                if n > 1 else "")
        blocks.append(
            f'<div class="borderClass"><table border="0" cellpadding="0" cellspacing="0" width="100%"><tr>'
            f'<td valign="top" width="60"><div class="picSurround"><a class="hoverinfo_trigger" '
            f'href="{anime_href(world, t)}"><img data-src="{escape(target.pic)}" width="50"></a></div></td>'
            f'<td valign="top"><div style="margin-bottom: 2px;"><a href="{anime_href(world, t)}"><strong>'
            f'{escape(target.title)}</strong></a> <span style="float:right;"><a href="/recommendations/anime/'
            f'{a.anime_id}-{target.anime_id}" title="Permalink"><small>permalink</small></a></span></div>'
            f'<div class="borderClass bgColor1"><div class="spaceit_pad detail-user-recs-text">If you liked '
            f"{escape(a.title)}, {escape(target.title)} has the same feel.</div><div class=\"spaceit_pad\">"
            f'Recommended by <a href="/profile/{first_name}">{first_name}</a></div></div>{more}</td></tr></table>'
            "</div>")
    body = (f'{_header(world, ai, "userrecs")}<div id="content"><h2>Recommendations</h2>'
            + ("".join(blocks) or "<div>No recommendations have been made for this title.</div>") + "</div>")
    return page(f"{a.title} - Recommendations", f"{anime_href(world, ai)}/userrecs", body)


def reviews_of(world: World, ai: int) -> list[dict]:
    """Reviews by users who scored the anime: about one per 8 scorers, most helpful first."""
    return world.memo(("reviews", ai), lambda: _reviews(world, ai))


def _reviews(world: World, ai: int) -> list[dict]:
    entries = world.anime_users(ai)
    entries = entries[world.e_score[entries] > 0]
    rng = world.rng("reviews", ai)
    if len(entries) == 0:
        return []
    chosen = rng.choice(entries, size=min(9999, max(1, len(entries) // 8)), replace=False)
    owners = world.entry_user(chosen)
    out = []
    for k, e in enumerate(chosen):
        overall = int(world.e_score[e])
        sub = np.clip(overall + rng.integers(-2, 3, size=5), 1, 10)
        out.append({"review_id": world.anime[ai].anime_id * 10000 + k + 1, "user": int(owners[k]),
                    "overall": overall, "story": int(sub[0]), "animation": int(sub[1]), "sound": int(sub[2]),
                    "character": int(sub[3]), "enjoyment": int(sub[4]), "helpful": int(rng.zipf(1.8) - 1) % 5000,
                    "ago": int(world.e_updated_ago[e]), "episodes": int(world.e_progress[e])})
    out.sort(key=lambda r: (-r["helpful"], r["review_id"]))
    return out


def review_text(world: World, ai: int, review: dict) -> str:
    title = world.anime[ai].title
    tone = "a must-watch" if review["overall"] >= 8 else "worth a look" if review["overall"] >= 5 else "a letdown"
    return (f"{title} is {tone}. The story earns a {review['story']}, the animation a {review['animation']} and the "
            f"sound a {review['sound']}; the characters carry it to a {review['character']}. Overall I enjoyed it "
            f"at {review['enjoyment']} out of 10 after {review['episodes']} episodes, and that is my honest verdict.")


def anime_reviews(world: World, ai: int, p: int, now: dt.datetime) -> str:
    reviews = reviews_of(world, ai)[(p - 1) * REVIEWS_PER_PAGE: p * REVIEWS_PER_PAGE]
    blocks = []
    for r in reviews:
        name = world.user_names[r["user"]]
        date = fmt_date((now - dt.timedelta(seconds=r["ago"])).date())
        rid = r["review_id"]
        table = "".join(f'<tr><td class="borderClass">{label}</td><td class="borderClass">{r[key]}</td></tr>'
                        for label, key in (("Overall", "overall"), ("Story", "story"), ("Animation", "animation"),
                                           ("Sound", "sound"), ("Character", "character"),
                                           ("Enjoyment", "enjoyment")))
        blocks.append(
            f'<div class="borderDark" style="padding: 4px 0;"><div class="spaceit"><div class="mb8" style="float: '
            f'right; text-align: right;"><div title="12:00 PM">{date}</div><div class="lightLink spaceit">'
            f'{r["episodes"]} episodes seen</div><div><a href="javascript:void(0);">Overall Rating</a>: '
            f'{r["overall"]}</div></div><div style="float: left;"><table><tr><td valign="top"><a href="{MAL}/profile/'
            f'{name}">{name}</a><div class="lightLink spaceit"><strong><span id="rhelp{rid}">{r["helpful"]}</span>'
            f'</strong> people found this review helpful</div></td></tr></table></div></div>'
            f'<div class="spaceit textReadability word-break pt8 mt8"><div id="score{rid}" '
            f'style="float: left; display: none;"><table class="borderClass" width="105">{table}</table></div>'
            f'{escape(review_text(world, ai, r))}'
            f'</div><div><a class="lightLink" href="{MAL}/reviews.php?id={rid}"><small>permalink</small></a></div>'
            f"</div>")
    nav = (f'<div class="ml4"><a href="{anime_href(world, ai)}/reviews?p={p + 1}">More Reviews</a></div>'
           if len(reviews) == REVIEWS_PER_PAGE else "")
    body = f'{_header(world, ai, "reviews")}<div id="content">{nav}{"".join(blocks)}</div>'
    return page(f"{world.anime[ai].title} - Reviews", f"{anime_href(world, ai)}/reviews?p={p}", body)


def picture_urls(world: World, ai: int) -> list[str]:
    rng = world.rng("pics", ai)
    base = world.anime[ai].pic.rsplit(".", 1)[0]
    return [f"{base}l.jpg"] + [f"https://cdn.myanimelist.net/images/anime/{int(x) % 1500 + 1}/{int(x)}l.jpg"
                               for x in rng.integers(10000, 300000, size=int(rng.integers(0, 9)))]


def anime_pics(world: World, ai: int) -> str:
    a = world.anime[ai]
    cells = "".join(f'<td><div class="picSurround"><a class="js-picture-gallery" href="{u}" rel="gallery-anime" '
                    f'title="{escape(a.title)}"><img alt="{escape(a.title)} picture" data-src="{u}"></a></div></td>'
                    for u in picture_urls(world, ai))
    body = f'{_header(world, ai, "pics")}<div id="content"><h2>Pictures</h2><table><tr>{cells}</tr></table></div>'
    return page(f"{a.title} - Pictures", f"{anime_href(world, ai)}/pics", body)


def clubs_of(world: World, ai: int) -> list[tuple[int, str, int]]:
    rng = world.rng("clubs", ai)
    title = world.anime[ai].title
    n = int(rng.integers(0, 4)) + (1 if world.members(ai) > 20 else 0)
    return [(int(rng.integers(1, 90000)), f"{title} {name}", int(rng.integers(5, 5000)))
            for name in ("Fan Club", "Appreciation Society", "Watch Party", "Discussion")[:n]]


def anime_clubs(world: World, ai: int) -> str:
    rows = "".join(f'<div class="borderClass"><a href="/clubs.php?cid={cid}">{escape(name)}</a><br>'
                   f"<small>{fmt_int(members)} members</small></div>" for cid, name, members in clubs_of(world, ai))
    body = f'{_header(world, ai, "clubs")}<div id="content"><h2>Related Clubs</h2>{rows}</div>'
    return page(f"{world.anime[ai].title} - Clubs", f"{anime_href(world, ai)}/clubs", body)


# ---------------------------------------------------------------------------------------- users
def profile_stats(world: World, ui: int) -> dict:
    span = world.entries(ui)
    status = world.e_status[span.start:span.stop]
    counts = {code: int((status == code).sum()) for code in STATUS_ORDER}
    scores = world.e_score[span.start:span.stop]
    scored = scores[scores > 0]
    minutes = int(world.e_progress[span.start:span.stop].astype(np.int64).sum()) * EP_MINUTES
    return {"counts": counts, "days": round(minutes / 1440, 1), "mean": round(float(scored.mean()), 2) if len(scored)
            else 0.0, "episodes": minutes // EP_MINUTES, "total": len(status)}


def _left_column(world: World, ui: int, now: dt.datetime) -> str:
    name = world.user_names[ui]
    joined = fmt_date((now - dt.timedelta(seconds=int(world.joined_ago[ui]))).date())
    friends = [world.user_names[int(world.f_user[i])] for i in list(world.friends(ui))[:10]]
    friend_links = "".join(f'<a href="{MAL}/profile/{f}" class="icon-friend" title="{f}">{f}</a>' for f in friends)
    return (f'<td valign="top" width="225" class="profile_leftcell"><div class="user-profile">'
            f'<ul class="user-status border-top pb8 mb4"><li class="clearfix"><span class="user-status-title '
            f'di-ib fl-l fw-b">Last Online</span><span class="user-status-data di-ib fl-r">'
            f"{fmt_ago(int(world.last_online_ago[ui]), now)}</span></li><li class=\"clearfix\"><span "
            f'class="user-status-title di-ib fl-l fw-b">Joined</span>'
            f'<span class="user-status-data di-ib fl-r">{joined}</span></li></ul>'
            f'<div class="user-button clearfix mb12"><a class="btn-profile-submit fl-l" href="{MAL}/animelist/{name}">'
            f'Anime List</a></div><h4><a href="{MAL}/profile/{name}/friends">All ({len(world.friends(ui))})</a>Friends'
            f'</h4><div class="user-friends pt4 pb12">{friend_links or "No friend yet."}</div>'
            f'<div class="user-profile-sns"><a href="{MAL}/rss.php?type=blog&amp;id={int(world.user_ids[ui])}">'
            f'Blog Feed</a><a href="{MAL}/modules.php?go=report&amp;type=profile&amp;id={int(world.user_ids[ui])}">'
            f"Report</a></div></div></td>")


def profile(world: World, ui: int, now: dt.datetime, *, private: bool) -> str:
    name = world.user_names[ui]
    st = profile_stats(world, ui)
    classes = {1: ("watching", "Watching"), 2: ("completed", "Completed"), 3: ("on_hold", "On-Hold"),
               4: ("dropped", "Dropped"), 6: ("plan_to_watch", "Plan to Watch")}
    status_list = "".join(
        f'<li class="clearfix mb12"><a href="{MAL}/animelist/{name}?status={code}" class="di-ib fl-l lh10 circle anime '
        f'{css}">{label}</a><span class="di-ib fl-r lh10">{fmt_int(st["counts"][code])}</span></li>'
        for code, (css, label) in classes.items())
    if private:
        updates = "<p>Access to this list has been restricted by the owner.</p>"
    else:
        recent = sorted(world.entries(ui), key=lambda i: world.e_updated_ago[i])[:3]
        updates = "".join(f'<div class="statistics-updates di-b w100 mb8"><a class="fl-l di-ib mr8 image" '
                          f'href="{anime_href(world, int(world.e_anime[i]))}">'
                          f"{escape(world.anime[int(world.e_anime[i])].title)}</a></div>" for i in recent)
    favs = world.favorite_anime(ui)
    fav_html = ("".join(f'<li class="list di-t mb8"><div class="di-tc va-t pl8 data"><a href="{anime_href(world, f)}">'
                        f"{escape(world.anime[f].title)}</a></div></li>" for f in favs)
                if favs else "")
    fav_block = (f'<ul class="favorites-list anime">{fav_html}</ul>' if favs
                 else '<p class="favorites-list">No favorite anime yet.</p>')
    clubs = "".join(f'<li><a href="{MAL}/clubs.php?cid={c}">Club {c}</a></li>' for c in world.user_clubs(ui))
    body = (f'<h1 class="h1"><span>{name}\'s Profile</span></h1><div id="content"><table><tr>'
            f'{_left_column(world, ui, now)}<td valign="top"><div class="container-right"><div class="user-statistics">'
            f'<h2>Statistics</h2><div class="stats anime"><h5>Anime Stats</h5><div class="stat-score di-t w100 pt8">'
            f'<div class="di-tc al pl8 fs12 fw-b"><span class="fn-grey2 fw-n">Days: </span>{st["days"]}</div>'
            f'<div class="di-tc ar pr8 fs12 fw-b"><span class="fn-grey2 fw-n">Mean Score: </span>{st["mean"]:.2f}</div>'
            f'</div><ul class="stats-status fl-l">{status_list}</ul><ul class="stats-data fl-r">'
            f'<li class="clearfix mb12"><span class="di-ib fl-l fn-grey2">Total Entries</span>'
            f'<span class="di-ib fl-r">{fmt_int(st["total"])}'
            f'</span></li></ul></div><div class="updates anime"><h5 class="mb12">Last Anime Updates</h5>{updates}</div>'
            f'</div><div class="user-favorites"><h5>Anime</h5>{fav_block}</div>'
            f'<div class="user-clubs"><h5>Clubs</h5><ul>{clubs}</ul></div></div></td></tr></table></div>')
    return page(f"{name}'s Profile", f"{MAL}/profile/{name}", body)


def friends_page(world: World, ui: int, start: int, now: dt.datetime, og_query: str) -> str:
    name = world.user_names[ui]
    span = list(world.friends(ui))[start:start + FRIENDS_PER_PAGE]
    blocks = []
    for i in span:
        friend = world.user_names[int(world.f_user[i])]
        since = now - dt.timedelta(seconds=int(world.f_since_ago[i]))
        blocks.append(
            f'<div class="friendHolder"><div class="friendBlock"><div class="picSurround friendIcon"><a href="{MAL}/'
            f'profile/{friend}"><img src="https://cdn.myanimelist.net/images/questionmark_50.gif"></a></div><div>'
            f'<a href="{MAL}/profile/{friend}"><strong>{friend}</strong></a></div><div>'
            f'{fmt_ago(int(world.last_online_ago[int(world.f_user[i])]), now)}</div><div>Friends since '
            f"{fmt_date(since.date())} {_clock(since)}</div></div></div>")
    inner = "".join(blocks) or "No friends found :("
    body = (f'<h1 class="h1">{name}\'s Profile</h1><div id="content" style="padding:8px;"><table><tr>'
            f'{_left_column(world, ui, now)}<td valign="top" class="pl8"><div class="majorPad">{inner}</div></td></tr>'
            f"</table></div>")
    return page(f"{name}'s Profile - Friends", f"{MAL}/profile/{name}/friends{og_query}", body)


def history_entries(world: World, ui: int, limit: int = 40) -> list[tuple[int, int, int]]:
    """(anime index, episode, seconds ago): the latest episode updates of watching/completed entries."""
    recent = sorted((i for i in world.entries(ui) if world.e_progress[i] > 0),
                    key=lambda i: world.e_updated_ago[i])[:limit // 2]
    out = []
    for i in recent:
        ep, ago = int(world.e_progress[i]), int(world.e_updated_ago[i])
        out.append((int(world.e_anime[i]), ep, ago))
        if ep > 1:
            out.append((int(world.e_anime[i]), ep - 1, ago + 3600 * (1 + i % 20)))
    out.sort(key=lambda r: r[2])
    return out


def history(world: World, ui: int, now: dt.datetime) -> str:
    name = world.user_names[ui]
    rows = "".join(f'<tr><td class="borderClass"><a href="/anime.php?id={world.anime[ai].anime_id}">'
                   f"{escape(world.anime[ai].title)}</a> ep. <strong>{ep}</strong></td>"
                   f'<td class="borderClass" align="right">{fmt_ago(ago, now)}</td></tr>'
                   for ai, ep, ago in history_entries(world, ui))
    body = (f'<h1 class="h1">{name}\'s History</h1><div id="content"><table width="100%">'
            f'<tr><td class="normal_header" colspan="2">Anime History</td></tr>{rows}</table></div>')
    return page(f"{name}'s History", f"{MAL}/history/{name}/anime", body)


def top_anime(world: World, limit: int) -> str:
    rows = "".join(
        f'<tr class="ranking-list"><td class="rank ac"><span>{limit + k + 1}</span></td><td class="title al va-t">'
        f'<a class="hoverinfo_trigger fl-l ml12 mr8" href="{anime_href(world, int(ai))}">'
        f'<img data-src="{escape(world.anime[int(ai)].pic)}"></a><div class="di-ib clearfix">'
        f'<a class="hoverinfo_trigger fl-l fs14 fw-b" href="{anime_href(world, int(ai))}">'
        f'{escape(world.anime[int(ai)].title)}</a></div></td>'
        f'<td class="score ac fs14"><span>{world.score[int(ai)]:.2f}</span></td></tr>'
        for k, ai in enumerate(world.ranking[limit:limit + TOP_PER_PAGE]))
    more = limit + TOP_PER_PAGE < len(world.ranking)
    head = f'<link rel="next" href="{MAL}/topanime.php?limit={limit + TOP_PER_PAGE}">' if more else ""
    body = (f'<h1 class="h1">Top Anime</h1><div id="content"><table class="top-ranking-table">{rows}</table>'
            + (f'<a href="?limit={limit + TOP_PER_PAGE}" class="link-blue-box next">Next 50</a>' if more else "")
            + "</div>")
    return page("Top Anime", f"{MAL}/topanime.php" + (f"?limit={limit}" if limit else ""), body, head=head)


def users_page(world: World, users: list[int], now: dt.datetime) -> str:
    cells = "".join(f'<td class="borderClass" align="center"><div style="margin-bottom: 7px;"><a href="/profile/'
                    f'{world.user_names[u]}">{world.user_names[u]}</a></div><div class="spaceit_pad lightLink"><small>'
                    f"{fmt_ago(int(world.last_online_ago[u]), now)}</small></div></td>" for u in users)
    body = f'<h1 class="h1">Users</h1><div id="content"><table><tr>{cells}</tr></table></div>'
    return page("Users", f"{MAL}/users.php", body)
