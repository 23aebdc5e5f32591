"""Parsers and the offline MAL mirror.

- parse rate per core of real saved pages (../shared/mal-fixtures) against the bare lxml parse
  (json.loads for JSON) of the same bytes: what the field extraction costs on top of parsing;
- mirror world load (generate N users) against one numpy sort of as many keys as the world has list
  entries (the least work any world build does), with the 60 s budget for 100k users in the note;
- mirror pages served per second (profile pages, keep-alive client) against /robots.txt on the same
  server (the HTTP stack alone).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import lxml.html
import numpy as np
from run import Row

from animerec.common import datasets
from animerec.crawler import urls
from animerec.crawler.parsers import parse
from animerec.malmirror.server import run_in_thread
from animerec.malmirror.world import generate

FIXTURES = (datasets.shared_dir() or Path("shared")) / "mal-fixtures"
PAGES = [
    ("anime main (2021)", "MyAnimeList-Database/data/html/1/details.html", "https://myanimelist.net/anime/1"),
    ("reviews p1 (2021)", "MyAnimeList-Database/data/html/5/reviews_1.html",
     "https://myanimelist.net/anime/5/_/reviews?p=1"),
    ("userrecs (2021)", "MyAnimeList-Database/data/html/1/recomendations.html",
     "https://myanimelist.net/anime/1/_/userrecs"),
    ("profile (2018)", "aqua/src/test/resources/parsing/profile.html", "https://myanimelist.net/profile/mattia_y"),
    ("friends (2018)", "jikan/test/fixtures_extracted/FriendsParserTest.0.html",
     "https://myanimelist.net/profile/morshuwarrior/friends"),
    ("animelist load.json", "aqua/src/test/resources/parsing/anime_load.json",
     "https://myanimelist.net/animelist/mattia_y/load.json?offset=0&status=7"),
    ("jikan anime", "reactive-jikan/src/test/resources/responses/anime/getAnimeById.json",
     "https://api.jikan.moe/v4/anime/11757"),
]


def _rate(fn, min_seconds: float) -> float:
    """Calls per second of fn, repeated for at least min_seconds."""
    fn()
    n, started = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return n / elapsed


def parse_rows(quick: bool) -> list[Row]:
    rows = []
    if not FIXTURES.is_dir():
        return rows
    seconds = 0.5 if quick else 2.0
    for label, path, url in PAGES:
        body = (FIXTURES / path).read_bytes()
        is_json = path.endswith(".json")
        baseline = (lambda b=body: json.loads(b)) if is_json else (
            lambda b=body: lxml.html.document_fromstring(b.decode("utf-8", errors="replace")))
        value = _rate(lambda b=body, u=url: parse(u, b, crawled_at="2021-02-20T00:00:00Z"), seconds)
        base = _rate(baseline, seconds)
        rows.append(Row(f"parse {label}", value, "pages/s", "json.loads" if is_json else "lxml parse only", base,
                        note=f"{len(body) // 1024} KiB, 1 core", higher_is_better=True))
    return rows


def mirror_rows(quick: bool) -> list[Row]:
    users = 10_000 if quick else 100_000
    started = time.perf_counter()
    world = generate(users, seed=7)
    load = time.perf_counter() - started
    keys = np.random.default_rng(1).integers(0, 1 << 40, size=len(world.e_anime))
    started = time.perf_counter()
    np.sort(keys)
    sort = time.perf_counter() - started
    rows = [Row(f"mirror world load ({users:,} users, {len(world.e_anime):,} entries)", load, "s",
                "one numpy sort of as many keys", sort,
                note=f"budget 60 s for 100k users: {'met' if load < 60 else 'MISSED'} ({load:.1f} s)")]
    handle = run_in_thread(world)
    try:
        client = httpx.Client(timeout=30)
        names = [world.user_names[u] for u in range(0, world.n_users, max(1, world.n_users // 500))]
        it = iter(names * 1000)
        profile = _rate(lambda: client.get(urls.rebase(urls.profile_url(next(it)), handle.base_url)),
                        1.0 if quick else 3.0)
        robots = _rate(lambda: client.get(handle.base_url + "/robots.txt"), 1.0 if quick else 3.0)
        rows.append(Row("mirror profile pages served", profile, "req/s", "/robots.txt on the same server", robots,
                        note="keep-alive client on the same host", higher_is_better=True))
    finally:
        handle.stop()
    return rows


def run(quick: bool) -> list[Row]:
    return parse_rows(quick) + mirror_rows(quick)
