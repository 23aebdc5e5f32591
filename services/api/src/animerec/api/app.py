"""The Starlette application: routes, error mapping, security headers and metrics around every request."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis.asyncio as aioredis
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from animerec.common import config
from animerec.common.config import CoreSettings
from animerec.common.recstore import AsyncRecStore, NoLiveVersion, VersionGone

from . import errors, feedback, filters, openapi, web
from .coldstart import CrawlRequester
from .errors import ApiError
from .feedbackrules import FeedbackRules
from .metrics import ApiMetrics
from .service import Recommender
from .settings import ApiSettings
from .state import Services, services
from .tokens import Signer

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


class JSONResponse(StarletteJSONResponse):
    """orjson renders several times faster than the standard library on the hot routes."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def security_headers(settings: ApiSettings) -> list[tuple[bytes, bytes]]:
    images = " ".join(h for h in settings.image_hosts.split() if h)
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; "
           f"img-src 'self' data: {images}; connect-src 'self'; form-action 'self'; "
           "base-uri 'none'; frame-ancestors 'none'")
    pairs = {
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "strict-transport-security": "max-age=31536000; includeSubDomains",
        "cache-control": "no-store",
    }
    return [(k.encode(), v.encode()) for k, v in pairs.items()]


def error_body(status: int, code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "status": status}}).encode()


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Observe:
    """Pure ASGI middleware: security headers on every answer, latency and status metrics by route template,
    and a JSON 500 (with the same headers) for anything unexpected."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = headers
        # labelled metric children (latency histogram, request counter), resolved once per key
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in self.headers if k not in present]]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if not state["started"]:
                body = error_body(500, "internal", "something went wrong on our side")
                await send_with_headers({"type": "http.response.start", "status": 500, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
        finally:
            route = scope.get("route")
            method = scope.get("method", "")
            # label values come from a fixed set only: clients must not be able to mint new series
            key = (getattr(route, "path", None) or "unmatched", method if method in METHODS else "other",
                   state["status"])
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (self.metrics.latency.labels(key[0], key[1]),
                                                   self.metrics.requests.labels(key[0], key[1], str(key[2])))
            children[0].observe(time.perf_counter() - start)
            children[1].inc()


# --- error mapping -------------------------------------------------------------------------------------------

def _json_error(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _json_error(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    return _json_error(ApiError(exc.status_code, code, str(exc.detail), headers))


async def on_unavailable(request: Request, exc: Exception) -> Response:
    retry = str(services(request).settings.retry_after_seconds)
    if isinstance(exc, NoLiveVersion):
        err = ApiError(503, "not_published", "no recommendations have been published yet", {"Retry-After": retry})
    else:
        log.warning("Redis unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
        err = ApiError(503, "store_unavailable", "the recommendation store is unreachable; retry shortly",
                       {"Retry-After": retry})
    return _json_error(err)


UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, NoLiveVersion, VersionGone)


# --- API routes ----------------------------------------------------------------------------------------------

async def recommendations(request: Request) -> Response:
    svc = services(request)
    user = errors.user_name(request.path_params["name"])
    n = errors.int_param(request.query_params, "n", svc.settings.default_n, 1, svc.settings.max_n)
    sample = errors.int_param(request.query_params, "sample", None, 1, svc.settings.max_n)
    flt = filters.parse(request.query_params)
    return JSONResponse(await svc.recommender.recommendations(user, n, sample, flt))


async def anime(request: Request) -> Response:
    return JSONResponse(await services(request).recommender.anime(errors.anime_id(request.path_params["anime_id"])))


async def similar(request: Request) -> Response:
    svc = services(request)
    anime_id = errors.anime_id(request.path_params["anime_id"])
    n = errors.int_param(request.query_params, "n", svc.settings.default_n, 1, svc.settings.max_n)
    return JSONResponse(await svc.recommender.similar(anime_id, n, filters.parse(request.query_params)))


async def trending(request: Request) -> Response:
    svc = services(request)
    n = errors.int_param(request.query_params, "n", svc.settings.default_n, 1, svc.settings.max_n)
    return JSONResponse(await svc.recommender.trending(n, filters.parse(request.query_params)))


async def post_feedback(request: Request) -> Response:
    svc = services(request)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the feedback as application/json")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > feedback.MAX_BODY:
            raise ApiError(413, "body_too_large", f"the body may be at most {feedback.MAX_BODY} bytes")
    event, token = feedback.parse(bytes(body))
    await svc.rules.limit(request.client.host if request.client else "unknown", event["user_name"])
    grant, status, claim = await svc.rules.check(token, event)
    try:
        await svc.feedback.send(event)  # recorded whatever the token: analytics see every reaction
    except ApiError:
        await svc.rules.release(claim)
        raise
    svc.metrics.feedback.labels(event["action"]).inc()
    if grant is not None:
        await svc.rules.apply(event)
        svc.recommender.count(grant.version, grant.source, event["action"])
    else:
        svc.recommender.count("unknown", "unverified", event["action"])
    return JSONResponse({"event_id": event["event_id"], "status": "accepted", "applied": grant is not None,
                         "token": status}, status_code=202)


# --- operations ----------------------------------------------------------------------------------------------

async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    checks: dict[str, str] = {}
    version = None
    try:
        await svc.redis.ping()
        version = await svc.store.live_version()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    checks["kafka"] = "ok" if await svc.feedback.ready() else "unreachable"
    checks["published"] = "yes" if version else "not yet"
    ready = checks["redis"] == "ok" and checks["kafka"] == "ok"
    headers = {} if ready else {"Retry-After": str(svc.settings.retry_after_seconds)}
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks, "version": version},
                        status_code=200 if ready else 503, headers=headers)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(services(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def openapi_json(request: Request) -> Response:
    s = services(request).settings
    return JSONResponse(openapi.document(s.default_n, s.max_n))


# --- start-up ------------------------------------------------------------------------------------------------

def settle_heap() -> None:
    """Move everything alive now (modules, the app, the card cache) out of the cyclic garbage collector's reach.
    Full collections walk every tracked object: with the cache in view they took 25-60 ms, stalling every
    request in flight. Frozen objects are still freed by reference counting when dropped."""
    gc.collect()
    gc.freeze()


async def warm(svc: Services) -> None:
    """Cards of the live version in memory before the first request; an empty or unreachable store only means
    the cache fills as requests come (the version switch loads it in the background)."""
    if not svc.settings.card_cache_size:
        return
    started = time.perf_counter()
    try:
        count = await asyncio.wait_for(svc.recommender.warm(), svc.settings.warm_timeout_seconds)
    except NoLiveVersion:
        log.info("nothing published yet: card cache starts empty")
    except (TimeoutError, ValueError, *UNAVAILABLE) as exc:  # ValueError: a version with an unreadable card
        log.warning("card cache not loaded at start-up", extra={"error": f"{type(exc).__name__}: {exc}"})
    else:
        log.info("card cache loaded", extra={"cards": count, "seconds": round(time.perf_counter() - started, 3)})


# --- assembly ------------------------------------------------------------------------------------------------

class CountedBackoff(EqualJitterBackoff):
    """The retry backoff, counting each retry: redis-py asks it once per retry, whatever the command."""

    def __init__(self, counter: Counter, cap: float, base: float) -> None:
        super().__init__(cap=cap, base=base)
        self.counter = counter

    def compute(self, failures: int) -> float:
        self.counter.inc()
        return super().compute(failures)

    def __deepcopy__(self, memo: dict[int, Any]) -> CountedBackoff:
        return self  # every connection deep-copies its Retry; they share this one (it keeps no state of its own)


def create_app(core: CoreSettings | None = None, settings: ApiSettings | None = None, *,
               crawler_transport: httpx.AsyncBaseTransport | None = None,
               producer_factory: Callable[[], Any] | None = None, rng: random.Random | None = None) -> Starlette:
    """Build the app. Connections open in the lifespan, so one app object serves one event loop."""
    core = core or config.core()
    settings = settings or config.load(ApiSettings)
    metrics = ApiMetrics.create()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        # A pooled connection that Redis dropped (a restart, a failover) fails its next command: retry it on a
        # new connection, a few times with a short jittered backoff (a busy process may still be in the new
        # connection's handshake when the next drop comes), and PING connections that sat idle, so a restart
        # costs no request beyond those in flight.
        redis = aioredis.Redis.from_url(
            core.redis_url, decode_responses=True, socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
            retry=Retry(CountedBackoff(metrics.redis_retries, cap=0.1, base=0.01), settings.redis_retries),
            retry_on_error=[RedisConnectionError], health_check_interval=settings.redis_health_check_seconds)
        store = AsyncRecStore(redis, core.redis_prefix, version_cache_seconds=settings.version_cache_seconds)
        crawler = CrawlRequester(settings, redis, store, metrics, core.redis_prefix, transport=crawler_transport)
        signer = Signer(settings.feedback_secret or secrets.token_urlsafe(32), settings.feedback_token_ttl_seconds)
        if not settings.feedback_secret:
            log.warning("ANIMEREC_API_FEEDBACK_SECRET is not set: feedback tokens are signed with a random key of "
                        "this process (other replicas and restarts will not accept them)")
        svc = Services(
            core=core, settings=settings, metrics=metrics, redis=redis, store=store, crawler=crawler,
            recommender=Recommender(settings, store, metrics, crawler, rng=rng, on_cards_loaded=settle_heap,
                                    signer=signer),
            rules=FeedbackRules(settings, store, metrics, signer),
            feedback=feedback.FeedbackSink(core, settings.feedback_timeout_seconds, settings.retry_after_seconds,
                                           producer_factory))
        await warm(svc)
        settle_heap()  # once, after the cards: a background reload (new version) settles through on_cards_loaded
        app.state.services = svc  # the same object, for in-process inspection (tests); requests use the state
        try:
            yield {"services": svc}
        finally:
            await svc.crawler.close()
            await svc.feedback.close()
            await svc.redis.aclose()
            gc.unfreeze()  # what was frozen becomes collectable again (matters where apps come and go: tests)

    routes = [  # the busiest first: the router tries them in order
        Route("/v1/users/{name}/recommendations", recommendations, methods=["GET"]),
        Route("/v1/feedback", post_feedback, methods=["POST"]),
        Route("/v1/anime/{anime_id}", anime, methods=["GET"]),
        Route("/v1/anime/{anime_id}/similar", similar, methods=["GET"]),
        Route("/v1/trending", trending, methods=["GET"]),
        Route("/", web.index, methods=["GET"], name="index"),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/docs", web.docs, methods=["GET"], name="docs"),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/favicon.ico", web.favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ApiError: on_api_error, HTTPException: on_http_error}
    handlers.update({cls: on_unavailable for cls in UNAVAILABLE})
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.router.redirect_slashes = False  # no redirects at all: nothing to abuse as an open redirect
    app.add_middleware(Observe, metrics=metrics, headers=security_headers(settings))
    return app
