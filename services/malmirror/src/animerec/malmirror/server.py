"""The mirror's HTTP server: MAL paths at /, Jikan v4 at /v4, one Starlette app over a World.

`run_in_thread(world, port=0, faults=None)` starts it for tests and returns a handle with
`.base_url` and `.stop()`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from animerec.common import contracts
from animerec.malmirror import jikan, pages
from animerec.malmirror.faults import Faults, garble, truncate
from animerec.malmirror.world import World

ROBOTS = """User-agent: *
Disallow: /login.php
Disallow: /register.php
Disallow: /logout.php
Disallow: /mymessages.php
Disallow: /editprofile.php
Disallow: /panel.php
Crawl-delay: 1
"""
LIST_PAGE = 300
NAME = contracts.user_name_pattern()
HTML = "text/html; charset=utf-8"
JSON = "application/json"


class NotFound(Exception):
    pass


@dataclass
class Mirror:
    """The state of one running mirror: its world, faults and per-URL request counters."""

    world: World
    faults: Faults = field(default_factory=Faults)
    attempts: Counter = field(default_factory=Counter)
    users_served: int = 0
    _order: object = None

    # ---- lookups (404 for unknown or fault-missing entities)
    def anime_index(self, anime_id: int) -> int:
        ai = self.world.index_of.get(anime_id)
        if ai is None or self.faults.is_missing("anime", anime_id):
            raise NotFound
        return ai

    def user_index(self, name: str) -> int:
        ui = self.world.user_index.get(name)
        if ui is None:  # MAL user names are case-insensitive
            ui = self.world.user_index.get(self._lower().get(name.lower(), ""))
        if ui is None or self.faults.is_missing("user", self.world.user_names[ui]):
            raise NotFound
        return ui

    def _lower(self) -> dict[str, str]:
        if not hasattr(self, "_lower_names"):
            self._lower_names = {n.lower(): n for n in self.world.user_names}
        return self._lower_names

    def private(self, ui: int) -> bool:
        return bool(self.world.private[ui]) or self.faults.is_private(self.world.user_names[ui])

    def next_users(self) -> list[int]:
        """users.php shows 20 'recently online' users, a different slice each time it is asked."""
        if self._order is None:
            self._order = self.world.rng("users.php").permutation(self.world.n_users)
        n = self.world.n_users
        start = (self.users_served * pages.USERS_PER_PAGE) % max(n, 1)
        self.users_served += 1
        return [int(self._order[(start + k) % n]) for k in range(min(pages.USERS_PER_PAGE, n))]

    # ---- MAL
    def mal(self, path: str, query: dict[str, list[str]], now: dt.datetime) -> tuple[int, str, str]:
        w = self.world

        def q(name: str, default: int) -> int:
            try:
                return max(0, int(query.get(name, [default])[0]))
            except ValueError:
                return default

        if m := re.fullmatch(r"/anime/(\d+)(?:/[^/]*)?/?", path):
            return 200, HTML, pages.anime_main(w, self.anime_index(int(m.group(1))))
        if m := re.fullmatch(r"/anime/(\d+)/[^/]*/(stats|userrecs|reviews|pics|clubs)/?", path):
            ai = self.anime_index(int(m.group(1)))
            body = {"stats": lambda: pages.anime_stats(w, ai), "userrecs": lambda: pages.anime_userrecs(w, ai),
                    "reviews": lambda: pages.anime_reviews(w, ai, max(1, q("p", 1)), now),
                    "pics": lambda: pages.anime_pics(w, ai), "clubs": lambda: pages.anime_clubs(w, ai)}[m.group(2)]()
            return 200, HTML, body
        if m := re.fullmatch(rf"/profile/({NAME})/?", path):
            ui = self.user_index(m.group(1))
            return 200, HTML, pages.profile(w, ui, now, private=self.private(ui))
        if m := re.fullmatch(rf"/profile/({NAME})/friends/?", path):
            ui = self.user_index(m.group(1))
            if "offset" in query:
                start, og = q("offset", 0), f"?offset={q('offset', 0)}"
            else:
                start = (max(1, q("p", 1)) - 1) * pages.FRIENDS_PER_PAGE
                og = f"?p={q('p', 1)}" if "p" in query else ""
            return 200, HTML, pages.friends_page(w, ui, start, now, og)
        if m := re.fullmatch(rf"/history/({NAME})(?:/anime)?/?", path):
            return 200, HTML, pages.history(w, self.user_index(m.group(1)), now)
        if m := re.fullmatch(rf"/animelist/({NAME})/load\.json", path):
            ui = self.user_index(m.group(1))
            if self.private(ui):
                return 400, JSON, json.dumps({"errors": [{"message": "invalid request"}]})
            return 200, JSON, json.dumps(self.load_json(ui, q("offset", 0), q("status", 7), now))
        if path == "/topanime.php":
            return 200, HTML, pages.top_anime(w, q("limit", 0))
        if path == "/users.php":
            return 200, HTML, pages.users_page(w, self.next_users(), now)
        raise NotFound

    def load_json(self, ui: int, offset: int, status: int, now: dt.datetime) -> list[dict]:
        w = self.world
        span = [i for i in w.entries(ui) if status == 7 or int(w.e_status[i]) == status]
        out = []
        for i in span[offset:offset + LIST_PAGE]:
            a = w.anime[int(w.e_anime[i])]
            updated = now - dt.timedelta(seconds=int(w.e_updated_ago[i]))
            out.append({"status": int(w.e_status[i]), "score": int(w.e_score[i]), "tags": "", "is_rewatching": 0,
                        "num_watched_episodes": int(w.e_progress[i]), "anime_title": a.title,
                        "anime_num_episodes": a.episodes or 0, "anime_airing_status": 1 if a.end is None else 2,
                        "anime_id": a.anime_id, "anime_url": f"/anime/{a.anime_id}/{pages.slug(a.title)}",
                        "anime_image_path": a.pic, "anime_media_type_string": a.type,
                        "updated_at": int(updated.timestamp()), "start_date_string": None,
                        "finish_date_string": updated.strftime("%m-%d-%y") if int(w.e_status[i]) == 2 else None})
        return out

    # ---- Jikan
    def jikan(self, path: str, query: dict[str, list[str]], now: dt.datetime) -> dict:
        w = self.world
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        if m := re.fullmatch(r"/v4/anime/(\d+)(?:/(full|relations|statistics|recommendations|reviews|pictures))?/?",
                             path):
            ai = self.anime_index(int(m.group(1)))
            sub = m.group(2) or ""
            return {"": lambda: jikan.anime(w, ai, full=False), "full": lambda: jikan.anime(w, ai, full=True),
                    "relations": lambda: {"data": jikan.relations(w, ai)},
                    "statistics": lambda: jikan.statistics(w, ai),
                    "recommendations": lambda: jikan.recommendations(w, ai),
                    "reviews": lambda: jikan.reviews(w, ai, page, now),
                    "pictures": lambda: jikan.pictures(w, ai)}[sub]()
        if m := re.fullmatch(rf"/v4/users/({NAME})(?:/(full|favorites|statistics|friends|history)(?:/anime)?)?/?",
                             path):
            ui = self.user_index(m.group(1))
            sub = m.group(2) or ""
            return {"": lambda: jikan.user(w, ui, now, full=False), "full": lambda: jikan.user(w, ui, now, full=True),
                    "favorites": lambda: jikan.favorites(w, ui), "statistics": lambda: jikan.statistics_of_user(w, ui),
                    "friends": lambda: jikan.friends(w, ui, page, now),
                    "history": lambda: jikan.history(w, ui, now)}[sub]()
        if path.rstrip("/") == "/v4/top/anime":
            return jikan.top_anime(w, page)
        if path.rstrip("/") == "/v4/users":
            return jikan.users(w, page, now)
        raise NotFound

    # ---- one request
    def answer(self, path: str, query_string: str, now: dt.datetime) -> tuple[int, str, bytes, dict[str, str]]:
        """Status, content type, body and headers for a request, faults applied."""
        if path == "/robots.txt":  # probes read it: never faulted
            return 200, "text/plain", ROBOTS.encode(), {}
        url = path + ("?" + query_string if query_string else "")
        query = parse_qs(query_string)
        fault = None
        if self.faults.any_request_faults:
            attempt = self.attempts[url]
            self.attempts[url] += 1
            fault = self.faults.for_request(url, attempt)
        is_jikan = path.startswith("/v4/")
        if fault in ("429", "500", "503"):
            status = int(fault)
            headers = {"X-Mirror-Fault": fault}
            if status in (429, 503):
                headers["Retry-After"] = str(self.faults.retry_after)
            if is_jikan:
                return status, JSON, json.dumps(jikan.error(status, "fault injected")).encode(), headers
            return status, HTML, f"<html><body><h1>{status}</h1></body></html>".encode(), headers
        try:
            if is_jikan:
                status, ctype, text = 200, JSON, json.dumps(self.jikan(path, query, now))
            else:
                status, ctype, text = self.mal(path, query, now)
        except NotFound:
            if is_jikan:
                status, ctype, text = 404, JSON, json.dumps(jikan.error(404, "Resource does not exist"))
            else:
                status, ctype, text = 404, HTML, pages.not_found()
        body = text.encode("utf-8")
        if fault == "truncate":
            body = truncate(body)
        elif fault == "garble":
            body = garble(body, url, self.faults.seed)
        return status, ctype, body, {"X-Mirror-Fault": fault} if fault else {}


def app(world: World, faults: Faults | None = None) -> Starlette:
    mirror = Mirror(world, faults or Faults())

    async def endpoint(request: Request) -> Response:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        status, ctype, body, headers = mirror.answer(request.url.path, request.url.query, now)
        if headers.get("X-Mirror-Fault") == "slow":
            await asyncio.sleep(mirror.faults.slow_seconds)
        return Response(body, status_code=status, media_type=ctype, headers=headers)

    application = Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "HEAD"])])
    application.state.mirror = mirror
    return application


@dataclass
class Handle:
    """A mirror running in a background thread."""

    server: uvicorn.Server
    thread: threading.Thread
    base_url: str
    mirror: Mirror

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> Handle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_in_thread(world: World, port: int = 0, faults: Faults | None = None, host: str = "127.0.0.1") -> Handle:
    """Serve `world` on host:port (0 = a free port) until `.stop()`."""
    application = app(world, faults)
    config = uvicorn.Config(application, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="malmirror", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"mirror did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    return Handle(server, thread, f"http://{host}:{bound}", application.state.mirror)
