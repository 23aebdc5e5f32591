"""`animerec crawl serve`: the crawler's HTTP service (Starlette).

POST /crawl               {"urls": [...], "wait": false, "source": "mal"|"jikan"} (or a bare list of URLs)
                          wait=false: the URLs are put on the schedule topics for the workers (202);
                          wait=true: crawled here and now, items returned in the response (and sent to the sink).
POST /seed/anime/top      {"pages": 1, "source": "mal"}: read the top-anime ranking, fill anime_schedule
POST /seed/profile/recent {"pages": 1, "source": "mal"}: read recently online users, fill profile_schedule
GET  /healthz, GET /metrics

Only canonical MyAnimeList / Jikan URLs of anime and profiles are accepted: no open proxy, no SSRF.
Bad requests get a 4xx with a message that says what is wrong.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from animerec.common.config import CoreSettings
from animerec.common.kafka import EventProducer
from animerec.scheduler import store

from . import runtime, sinks, targets
from .settings import CrawlerSettings
from .targets import TargetError

log = logging.getLogger(__name__)

class BadRequest(Exception):
    def __init__(self, status: int, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def _error(status: int, message: str, details: Any = None) -> JSONResponse:
    body = {"error": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


MAX_BODY_BYTES = 1_048_576   # a request names at most max_urls_per_request URLs: far below this
MAX_JSON_DEPTH = 8           # the deepest valid body is an object holding a list of strings


def _json_depth(value: Any) -> int:
    depth, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return depth


async def _body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY_BYTES whether or not Content-Length tells the size up front."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BadRequest(413, f"body larger than {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BadRequest(413, f"body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request, allowed: set[str]) -> dict[str, Any]:
    raw = await _body(request)
    if not raw.strip():
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        raise BadRequest(415, f"Content-Type must be application/json, not {media or 'missing'}")
    try:
        body = orjson.loads(raw)   # strict: no NaN, no lone surrogates, nesting bounded (no RecursionError)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(400, f"body is not JSON: {exc}") from None
    if _json_depth(body) > MAX_JSON_DEPTH:
        raise BadRequest(400, f"body nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(body, list):
        body = {"urls": body}
    if not isinstance(body, dict):
        raise BadRequest(422, "body must be a JSON object or a list of URLs")
    unknown = set(body) - allowed
    if unknown:
        raise BadRequest(422, f"unknown fields: {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")
    return body


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(422, f"{name} must be true or false")
    return value


def _source(body: dict, default: str | None) -> str | None:
    value = body.get("source", default)
    if value is not None and value not in ("mal", "jikan"):
        raise BadRequest(422, "source must be 'mal' or 'jikan'")
    return value


class CrawlService:
    def __init__(self, core: CoreSettings, settings: CrawlerSettings, engine, producer: EventProducer | None) -> None:
        self.core = core
        self.settings = settings
        self.engine = engine
        self.producer = producer

    def app(self) -> Starlette:
        routes = [
            Route("/crawl", self.crawl, methods=["POST"]),
            Route("/seed/anime/top", self.seed_anime_top, methods=["POST"]),
            Route("/seed/profile/recent", self.seed_profile_recent, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
        ]
        return Starlette(routes=routes, exception_handlers={BadRequest: self._bad_request})

    async def _bad_request(self, request: Request, exc: BadRequest) -> JSONResponse:
        return _error(exc.status, exc.message, exc.details)

    async def healthz(self, request: Request) -> JSONResponse:
        if not self.engine.running:
            return JSONResponse({"status": "down", "reason": "crawl engine stopped"}, status_code=503)
        return JSONResponse({"status": "ok", "in_flight": self.engine.in_flight()})

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    def _targets(self, body: dict) -> list[targets.Target]:
        wanted = body.get("urls")
        if not isinstance(wanted, list) or not wanted:
            raise BadRequest(422, "urls must be a non-empty list of MyAnimeList / Jikan anime or profile URLs")
        if len(wanted) > self.settings.max_urls_per_request:
            raise BadRequest(413, f"at most {self.settings.max_urls_per_request} URLs per request, got {len(wanted)}")
        source = _source(body, None)
        found, errors = [], []
        for url in wanted:
            try:
                found.append(targets.resolve(url, source))
            except TargetError as exc:
                errors.append({"url": url if isinstance(url, str) else repr(url)[:200], "error": str(exc)})
        if errors:
            raise BadRequest(422, "some URLs are not accepted", errors)
        return list(dict.fromkeys(found))  # one crawl per anime / profile, in request order

    async def crawl(self, request: Request) -> JSONResponse:
        body = await _json(request, {"urls", "wait", "source"})
        wait = _flag(body, "wait", False)
        wanted = self._targets(body)
        if not wait:
            try:
                scheduled = await asyncio.to_thread(self._schedule, wanted)
            except Exception as exc:  # Kafka or PostgreSQL unavailable: the caller may retry
                log.exception("scheduling failed")
                return _error(503, f"could not schedule the URLs: {type(exc).__name__}: {exc}")
            return JSONResponse({"scheduled": scheduled}, status_code=202)
        futures = [self.engine.submit(t, collect=True, force=True) for t in wanted]
        results = await self._wait(futures, self.settings.wait_timeout_s)
        if results is None:
            return _error(504, f"crawl did not finish within {self.settings.wait_timeout_s:g}s; "
                               "it goes on in the background and its items still reach the sink")
        return JSONResponse({"results": [r.as_dict() for r in results]})

    async def _wait(self, futures: list[Future], timeout: float):
        try:
            return await asyncio.wait_for(asyncio.gather(*(asyncio.wrap_future(f) for f in futures)), timeout)
        except TimeoutError:
            return None

    def _schedule(self, wanted: list[targets.Target]) -> list[dict[str, str]]:
        """Publish schedule requests (keyed by URL) and, once all are acknowledged, mark the URLs scheduled;
        the rows stay locked meanwhile, so a scheduler run cannot publish the same URLs at the same time."""
        if self.producer is None:
            raise RuntimeError("no Kafka producer")
        now = datetime.now(UTC)
        with psycopg.connect(self.core.postgres_url) as conn, conn.transaction():
            attempts = {kind: store.lock(conn, kind, [t.url for t in wanted if t.kind == kind]) for kind in store.KINDS}
            requests = [store.Request(t.kind, t.url, t.source, attempts[t.kind][t.url]) for t in wanted]
            outcome = store.schedule(conn, self.producer, self.core, requests, now, timeout=30)
        if outcome.failed:
            url, error = next(iter(outcome.failed.items()))
            raise RuntimeError(f"{len(outcome.failed)} of {len(requests)} URLs not acknowledged by Kafka "
                               f"(first: {url}: {error})")
        return [{"url": t.url, "kind": t.kind, "source": t.source} for t in wanted]

    async def _seed(self, request: Request, name: str) -> JSONResponse:
        body = await _json(request, {"pages", "source"})
        pages = body.get("pages", 1)
        if not isinstance(pages, int) or isinstance(pages, bool) or not 1 <= pages <= self.settings.seed_max_pages:
            raise BadRequest(422, f"pages must be an integer from 1 to {self.settings.seed_max_pages}")
        target = targets.seed(name, _source(body, self.settings.source))
        results = await self._wait([self.engine.submit(target, force=True, max_pages=pages)],
                                   self.settings.wait_timeout_s)
        if results is None:
            return _error(504, f"seeding did not finish within {self.settings.wait_timeout_s:g}s")
        result = results[0]
        status = 200 if result.outcome == "ok" else 502
        return JSONResponse({"seed": name, "source": target.source, "status": result.outcome, "pages": result.pages,
                             "discovered": result.links, "errors": result.errors}, status_code=status)

    async def seed_anime_top(self, request: Request) -> JSONResponse:
        return await self._seed(request, "anime/top")

    async def seed_profile_recent(self, request: Request) -> JSONResponse:
        return await self._seed(request, "profile/recent")


def serve(core: CoreSettings, settings: CrawlerSettings, *, host: str, port: int) -> None:
    import signal

    import uvicorn

    # uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, which would kill the process before
    # the engine stops and bookkeeping is flushed; these handlers (restored by uvicorn) absorb that.
    # A signal before uvicorn starts (while the engine starts) is remembered and stops the service cleanly.
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    producer = EventProducer(core, "crawler-serve")
    the_sink = sinks.KafkaSink(core, producer)
    with runtime.running(core, settings, sink=the_sink) as engine:
        if not stopping:
            app = CrawlService(core, settings, engine, producer).app()
            uvicorn.run(app, host=host, port=port, log_level=core.log_level.lower(), access_log=False)
