"""MAL anime pages: main, stats, userrecs, reviews, pictures, clubs.

Layouts proven on real pages (see tests/parsers/test_mal_fixtures.py): 2016-2018 (itemprop spans),
2021 (h1.title-name, prettified), plus the post-2022 related-entries tiles and review-element cards.
"""

from __future__ import annotations

import re

from animerec.crawler import urls
from animerec.crawler.parsers.base import Ctx, anime_id_of, collect_links, subject, user_of
from animerec.crawler.parsers.values import aired_range, clean, mal_date, parse_mal_date, to_float, to_int
from animerec.crawler.parsers.xpath import either, first, has_class, labelled, text_of

SEASONS = ("winter", "spring", "summer", "fall")
_NO_SYNOPSIS = ("No synopsis information has been added", "No synopsis has been added")


def anime_id(ctx: Ctx, doc) -> int:
    return subject(ctx, "anime id", urls.anime_id_from_url, doc, anime_id_of)


def sidebar(doc) -> dict[str, object]:
    """'Type' -> the element holding 'Type: TV' (label span.dark_text and its value siblings)."""
    return labelled(doc, f'//span[{has_class("dark_text")}]', lambda span: span.getparent())


# The entry's own text and its links, not the label, footnote marks (<sup>) or hidden footnote boxes.
_VALUE_TEXT = ("./text() | ./*[not(self::sup or self::div or self::small or self::script"
               ' or contains(@class, "dark_text") or @itemprop="genre")]//text()')


def _value(box, label: str) -> str | None:
    """The text of a sidebar entry without its label."""
    node = box.get(label)
    if node is None:
        return None
    return clean(" ".join(node.xpath(_VALUE_TEXT)))


def _names(box, *labels: str) -> list[str]:
    names: list[str] = []
    for label in labels:
        node = box.get(label)
        if node is None:
            continue
        for a in node.xpath(".//a"):
            name = clean(a.get("title") or a.text_content())
            if name and name not in names and "add some" not in name.lower():
                names.append(name)
    return names


def _none_if(value: str | None, *empty: str) -> str | None:
    return None if value is None or value in empty else value


def parse_anime(ctx: Ctx, doc) -> None:
    aid = anime_id(ctx, doc)
    title = (text_of(first(doc, f'//h1[{has_class("title-name")}]'))
             or text_of(first(doc, '//h1//*[@itemprop="name"]'))
             or text_of(first(doc, '//*[@itemprop="name"]/h1'))
             or clean(first(doc, '//meta[@property="og:title"]/@content')))
    if not title:
        raise ctx.fail("no title (not an anime page?)")
    box = sidebar(doc)
    if not box:
        raise ctx.fail("no information sidebar")
    desc = text_of(first(doc, '//*[@itemprop="description"]'))
    if desc and desc.startswith(_NO_SYNOPSIS):
        desc = None
    pic = (first(doc, '//img[@itemprop="image"]/@data-src') or first(doc, '//img[@itemprop="image"]/@src')
           or first(doc, '//meta[@property="og:image"]/@content'))
    start, end = aired_range(_value(box, "Aired"))
    season = clean((_value(box, "Premiered") or "").lower())
    if not season or season.split()[0] not in SEASONS:
        season = None
    score = to_float(text_of(first(doc, '//*[@itemprop="ratingValue"]'))) \
        or to_float(text_of(first(doc, f'//div[{has_class("score-label")}]')))
    score_count = to_int(text_of(first(doc, '//*[@itemprop="ratingCount"]'))) \
        or to_int(first(doc, '//div[@data-title="score"]/@data-user'))
    ctx.item(
        "anime_info", anime_id=aid, anime_url=urls.anime_url(aid), title=title, synopsis=desc,
        main_pic=clean(pic), type=_none_if(_value(box, "Type"), "Unknown"),
        source_type=_none_if(_value(box, "Source"), "Unknown"), num_episodes=to_int(_value(box, "Episodes")),
        status=_value(box, "Status"), start_date=start, end_date=end,
        season=season,
        studios=[s for s in _names(box, "Studios") if s != "None found"],
        genres=_names(box, "Genres", "Genre", "Themes", "Theme", "Demographic", "Demographics"),
        score=score if score and 1 <= score <= 10 else None, score_count=score_count,
        score_rank=_rank(_value(box, "Ranked")), popularity_rank=_rank(_value(box, "Popularity")),
        members_count=to_int(_value(box, "Members")), favorites_count=to_int(_value(box, "Favorites")),
    )
    for relation, target in related(doc):
        ctx.item("anime_related", anime_id=aid, related_anime_id=target, relation_type=relation)
    collect_links(ctx, doc, skip_anime=aid)


def _rank(text: str | None) -> int | None:
    """'#28 2 based on the top anime page...' -> 28; 'N/A 2 based on...' -> None."""
    m = re.match(r"#\s*([\d,]+)", text or "")
    return (to_int(m.group(1)) or None) if m else None


def _relation(text: str | None) -> str | None:
    """'Side story:' or 'Side Story (TV)' -> 'Side story' (Jikan's spelling: first word capitalised)."""
    text = clean(re.sub(r"\(.*?\)", "", text or ""))
    if not text:
        return None
    text = text.rstrip(":").strip()
    return text[:1].upper() + text[1:].lower() if text else None


def related(doc) -> list[tuple[str, int]]:
    """(relation type, anime id) pairs from the 2016-2021 table or the post-2022 tiles + table."""
    out: list[tuple[str, int]] = []
    rows = doc.xpath('//table[contains(@class, "anime_detail_related_anime")]//tr'
                     f' | //div[{has_class("related-entries")}]//table[{has_class("entries-table")}]//tr')
    for row in rows:
        cells = row.xpath("./td")
        if len(cells) < 2:
            continue
        relation = _relation(cells[0].text_content())
        for href in cells[1].xpath(".//a/@href"):
            aid = anime_id_of(href)
            if relation and aid:
                out.append((relation, aid))
    for tile in doc.xpath(f'//div[{has_class("related-entries")}]//div[{has_class("entry")}]'):
        relation = _relation(text_of(first(tile, f'.//div[{has_class("relation")}]')))
        aid = anime_id_of(first(tile, f'.//div[{has_class("title")}]//a/@href') or first(tile, ".//a/@href"))
        if relation and aid:
            out.append((relation, aid))
    return list(dict.fromkeys(out))


_STAT_LABELS = {"Watching": "watching_count", "Completed": "completed_count", "On-Hold": "on_hold_count",
                "Dropped": "dropped_count", "Plan to Watch": "plan_to_watch_count", "Total": "total_count"}


def parse_stats(ctx: Ctx, doc) -> None:
    aid = anime_id(ctx, doc)
    box = sidebar(doc)
    values: dict[str, int | None] = {field: to_int(_value(box, label)) for label, field in _STAT_LABELS.items()}
    for row in doc.xpath("//tr[td//small]"):
        cells = row.xpath("./td")
        votes = re.search(r"\(([\d,]+)\s+votes?\)", clean(row.text_content()) or "")
        score = to_int(text_of(cells[0])) if cells else None
        if votes and score and 1 <= score <= 10:
            values[f"score_{score:02d}_count"] = to_int(votes.group(1))
    if all(v is None for v in values.values()):
        raise ctx.fail("no summary or score statistics")
    ctx.item("anime_stats", anime_id=aid, **values)


def parse_userrecs(ctx: Ctx, doc) -> None:
    aid = anime_id(ctx, doc)
    seen: set[int] = set()
    for permalink in doc.xpath('//a[contains(@href, "/recommendations/anime/")]'):
        href = permalink.get("href")
        pair = re.search(r"/recommendations/anime/(\d+)-(\d+)", href)
        if not pair:
            continue
        a, b = int(pair.group(1)), int(pair.group(2))
        target = b if a == aid else a
        if target in seen or target == aid:
            continue
        seen.add(target)
        block = either(first(permalink, f'ancestor::div[{has_class("borderClass")}][1]'), permalink.getparent())
        more = first(block, './/a[contains(@class, "js-similar-recommendations-button")]//strong') \
            if block is not None else None
        recommenders = 1 + (to_int(text_of(more)) or 0)
        ctx.item("anime_recommendation", anime_id=aid, recommended_anime_id=target,
                 recommendation_url=urls.MAL + href if href.startswith("/") else href,
                 num_recommenders=recommenders)
    if not seen:
        ctx.page.status = "empty"
    collect_links(ctx, doc, skip_anime=aid)


_REVIEW_SCORES = {"overall": "review_score", "story": "review_story_score", "animation": "review_animation_score",
                  "sound": "review_sound_score", "character": "review_character_score",
                  "enjoyment": "review_enjoyment_score"}
_REVIEWS_PER_PAGE = 20


def parse_reviews(ctx: Ctx, doc) -> None:
    aid = anime_id(ctx, doc)
    count = 0
    for block in doc.xpath(f'//div[{has_class("borderDark")}][.//a[contains(@href, "reviews.php?id=")]]'):
        count += _old_review(ctx, aid, block)
    for block in doc.xpath(f'//div[{has_class("review-element")}]'):
        count += _new_review(ctx, aid, block)
    # MAL links a next page even from the last one, so only a full page has a successor.
    if count == 0:
        ctx.page.status = "empty"
    elif count >= _REVIEWS_PER_PAGE:
        ctx.page.next_url = f"{urls.MAL}/anime/{aid}/_/reviews?p={urls.query_int(ctx.url, 'p', 1) + 1}"
    collect_links(ctx, doc, skip_anime=aid)


def _review_id(block) -> int | None:
    href = first(block, './/a[contains(@href, "reviews.php?id=")]/@href')
    m = re.search(r"id=(\d+)", href or "")
    return int(m.group(1)) if m else None


def _score(text) -> int | None:
    value = to_int(text)
    return value if value is not None and 0 <= value <= 10 else None


def _old_review(ctx: Ctx, aid: int, block) -> int:
    """2016-2021 layout: div.borderDark with a score table and 'N people found this review helpful'."""
    rid = _review_id(block)
    name = next((user_of(h) for h in block.xpath('.//a/@href') if user_of(h)), None)
    if not rid or not name:
        return 0
    scores: dict[str, int | None] = {}
    for row in block.xpath('.//table[.//td[contains(., "Enjoyment") or contains(., "Overall")]]//tr'):
        cells = row.xpath("./td")
        if len(cells) == 2:
            key = (clean(cells[0].text_content()) or "").lower()
            if key in _REVIEW_SCORES:
                scores[_REVIEW_SCORES[key]] = _score(clean(cells[1].text_content()))
    if "review_score" not in scores:
        overall = re.search(r"Overall Rating\s*:?\s*(\d+)", clean(block.text_content()) or "")
        scores["review_score"] = _score(overall.group(1)) if overall else None
    helpful = either(first(block, './/*[starts-with(@id, "rhelp")]'),
                     first(block, './/strong[following-sibling::text()[contains(., "helpful")]]'))
    header = either(first(block, './/div[@class="mb8"]'), block)
    date = next((d for d in (parse_mal_date(t) for t in header.xpath(".//div/text()")) if d), None)
    text_node = first(block, f'.//div[{has_class("textReadability")}]')
    ctx.item("anime_review", review_id=rid, anime_id=aid, user_name=name,
             review_date=date.date().isoformat() if date else None, review_num_useful=to_int(text_of(helpful)),
             text=_review_text(text_node), **scores)
    return 1


def _review_text(node) -> str | None:
    if node is None:
        return None
    text = clean(node.text_content()) or ""
    text = re.sub(r"^(Overall \d+ Story \d+ Animation \d+ Sound \d+ Character \d+ Enjoyment \d+ )", "", text)
    text = re.sub(r"\s*(Helpful\s*)?read more$", "", text)
    return text or None


def _new_review(ctx: Ctx, aid: int, block) -> int:
    """Post-2022 layout: div.review-element cards (one overall score, reactions instead of helpful)."""
    rid = _review_id(block)
    name = user_of(first(block, f'.//div[{has_class("username")}]//a/@href')) \
        or next((user_of(h) for h in block.xpath('.//a/@href') if user_of(h)), None)
    if not rid or not name:
        return 0
    date = mal_date(text_of(first(block, f'.//div[{has_class("update_at")}]')))
    score = _score(text_of(first(block, f'.//div[{has_class("rating")}]//span[{has_class("num")}]')))
    useful = to_int(first(block, './/*[@data-reactions]/@data-reactions-total')) \
        or to_int(text_of(first(block, f'.//*[{has_class("js-btn-count")}]')))
    ctx.item("anime_review", review_id=rid, anime_id=aid, user_name=name, review_date=date,
             review_num_useful=useful, review_score=score,
             text=text_of(first(block, f'.//div[{has_class("text")}]')))
    return 1


def parse_pics(ctx: Ctx, doc) -> None:
    aid = anime_id(ctx, doc)
    hrefs = doc.xpath('//a[contains(@class, "js-picture-gallery")]/@href | //a[@rel="gallery-anime"]/@href')
    for href in dict.fromkeys(h.strip() for h in hrefs if h.strip()):
        ctx.item("anime_picture", anime_id=aid, picture_url=href)
    if not ctx.page.items:
        ctx.page.status = "empty"


def parse_clubs(ctx: Ctx, doc) -> None:
    """Clubs of an anime: every clubs.php?cid= link with the member count written next to it."""
    aid = anime_id(ctx, doc)
    content = either(first(doc, '//*[@id="content"]'), doc)
    seen: set[int] = set()
    for a in content.xpath('.//a[contains(@href, "clubs.php?cid=")]'):
        m = re.search(r"cid=(\d+)", a.get("href"))
        name = clean(a.text_content())
        if not m or not name or int(m.group(1)) in seen:
            continue
        seen.add(int(m.group(1)))
        holder = either(first(a, f'ancestor::*[{has_class("borderClass")}][1]'), a.getparent())
        members = re.search(r"([\d,]+)\s+members?", clean(holder.text_content()) or "", re.I) \
            or re.search(r"Members:?\s*([\d,]+)", clean(holder.text_content()) or "", re.I)
        ctx.item("anime_club", anime_id=aid, club_id=int(m.group(1)), club_name=name,
                 members_count=to_int(members.group(1)) if members else None)
    if not seen:
        ctx.page.status = "empty"
