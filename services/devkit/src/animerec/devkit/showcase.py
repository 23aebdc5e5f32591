"""The demo's last word: a few crawled users, each with their own top-rated anime beside the picks the API
serves them, so anyone can judge the recommendations at a glance."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Users with a list long enough to show taste and short enough to leave room for picks, their favourite
# genre (most frequent among the anime they scored 9 or 10) to spread the examples over different tastes.
_CANDIDATES = """
WITH scored AS (
    SELECT ua.user_id, ua.anime_id, ua.score FROM processed.user_anime ua WHERE ua.score IS NOT NULL),
sizes AS (
    SELECT user_id FROM scored GROUP BY user_id HAVING count(*) BETWEEN %(low)s AND %(high)s),
favourite AS (
    SELECT s.user_id, g AS genre,
           row_number() OVER (PARTITION BY s.user_id ORDER BY count(*) DESC, g) AS rn
    FROM scored s JOIN sizes USING (user_id) JOIN processed.anime a USING (anime_id), unnest(a.genres) AS g
    WHERE s.score >= 9 GROUP BY s.user_id, g)
SELECT u.user_name, f.genre FROM favourite f JOIN processed."user" u USING (user_id)
WHERE f.rn = 1 ORDER BY md5(u.user_name) LIMIT 200
"""

_TOP_RATED = """
SELECT a.title, ua.score FROM processed.user_anime ua
JOIN processed."user" u USING (user_id) JOIN processed.anime a USING (anime_id)
WHERE u.user_name = %s AND ua.score IS NOT NULL
ORDER BY ua.score DESC, a.members_count DESC NULLS LAST, a.anime_id LIMIT %s
"""


@dataclass
class Example:
    user: str
    genre: str
    top_rated: list[tuple[str, int]]     # (title, the user's score)
    picks: list[tuple[str, str]]         # (title, why)


def choose_users(sql: Callable[..., list[tuple]], k: int = 3, low: int = 30, high: int = 300) -> list[tuple[str, str]]:
    """Up to k (user, favourite genre) pairs, one per favourite genre where the data allows."""
    rows = sql(_CANDIDATES, {"low": low, "high": high})
    chosen: list[tuple[str, str]] = []
    for name, genre in rows:
        if genre not in {g for _, g in chosen}:
            chosen.append((name, genre))
        if len(chosen) == k:
            return chosen
    for name, genre in rows:  # fewer genres than k: fill with other users
        if len(chosen) == k:
            break
        if name not in {n for n, _ in chosen}:
            chosen.append((name, genre))
    return chosen


def examples(sql: Callable[..., list[tuple]], get: Callable[[str], tuple[int, dict]], k: int = 3,
             n: int = 5, top_n: int = 20) -> list[Example]:
    """`get(path)` asks the API; each example's picks are exactly what the web page shows that user: n drawn
    from their top `top_n`, one per franchise where the list allows."""
    found = []
    for user, genre in choose_users(sql, k):
        status, body = get(f"/v1/users/{urllib.parse.quote(user)}/recommendations?n={top_n}&sample={n}")
        if status != 200 or not body.get("items"):
            continue
        picks = [(str(item.get("title") or item.get("anime_id")), _why(item)) for item in body["items"][:n]]
        top = [(str(title), int(score)) for title, score in sql(_TOP_RATED, (user, n))]
        found.append(Example(user, genre, top, picks))
    return found


def _why(item: dict[str, Any]) -> str:
    reason = item.get("reason")
    if isinstance(reason, dict):
        reason = reason.get("text") or reason.get("because") or ""
    return str(reason or "")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render(found: list[Example], width: int = 44) -> Any:
    """One rich table per user: their top-rated anime on the left, their picks on the right."""
    from rich import box
    from rich.console import Group
    from rich.table import Table

    tables = []
    for ex in found:
        reasons = any(why for _, why in ex.picks)  # the "why" column only when the model gave reasons
        table = Table(box=box.SIMPLE_HEAD, title=f"{ex.user} (loves {ex.genre})", title_justify="left",
                      pad_edge=False, show_edge=False)
        table.add_column(f"{ex.user}'s top rated", no_wrap=True)
        table.add_column("", justify="right")
        table.add_column("picks for them", no_wrap=True)
        if reasons:
            table.add_column("why", no_wrap=True, style="dim")
        for i in range(max(len(ex.top_rated), len(ex.picks))):
            title, score = ex.top_rated[i] if i < len(ex.top_rated) else ("", None)
            pick, why = ex.picks[i] if i < len(ex.picks) else ("", "")
            row = [_cut(title, width), "" if score is None else str(score), _cut(pick, width)]
            table.add_row(*row, *([_cut(why, 34)] if reasons else []))
        tables.append(table)
    return Group(*tables)
