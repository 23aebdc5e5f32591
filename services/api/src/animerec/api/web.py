"""The web page: a server-rendered form and five cards; static/app.js adds "show me others" and feedback."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.templating import Jinja2Templates

from animerec.common.recstore import NoLiveVersion, VersionGone

from . import errors, filters, openapi
from .errors import ApiError
from .state import services

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

PAGE_TOP = 20    # cards are sampled from the user's top 20 ...
PAGE_CARDS = 5   # ... five at a time
HERE = Path(__file__).resolve().parent
# Filter chips on the page: (label, query parameter, value); a chip toggles its parameter.
CHIPS = [("Action", "genres", "Action"), ("Comedy", "genres", "Comedy"), ("Drama", "genres", "Drama"),
         ("Romance", "genres", "Romance"), ("Sci-Fi", "genres", "Sci-Fi"), ("Slice of Life", "genres", "Slice of Life"),
         ("TV", "type", "TV"), ("Movie", "type", "Movie"), ("Airing now", "status", "airing"),
         ("13 episodes or fewer", "max_episodes", "13"), ("Since 2010", "year_from", "2010"),
         ("Include adult titles", "include_adult", "true")]


def chips(params: dict[str, str]) -> list[dict[str, Any]]:
    """Each chip with whether it is on and the query string that toggles it (values of a parameter combine)."""
    out = []
    for label, name, value in CHIPS:
        values = [v for v in params.get(name, "").split(",") if v]
        on = value in values
        multi = name in ("genres", "type", "status")
        if on:
            values.remove(value)
        else:
            values = [*values, value] if multi else [value]
        query = {**params, name: ",".join(values)}
        out.append({"label": label, "on": on,
                    "href": "/?" + urlencode({k: v for k, v in query.items() if v})})
    return out


async def index(request: Request) -> Response:
    svc = services(request)
    raw = request.query_params.get("user", "").strip()
    kept = {k: v for k, v in request.query_params.items() if k in filters.NAMES or k == "user"}
    context: dict[str, Any] = {"user": raw, "answer": None, "error": None, "top": PAGE_TOP, "cards": PAGE_CARDS,
                               "chips": chips(kept), "filter_query": urlencode(
                                   {k: v for k, v in kept.items() if k != "user"}),
                               "name_min": errors.NAME_MIN, "name_max": errors.NAME_MAX,
                               "filter_names": filters.NAMES}
    status = 200
    if raw:
        try:
            user = errors.user_name(raw)
        except ApiError:
            context["error"] = f"That does not look like a MyAnimeList user name: use {errors.USER_NAME_RULE}."
            status = 400
        else:
            try:
                flt = filters.parse(request.query_params)
                context["answer"] = await svc.recommender.recommendations(user, PAGE_TOP, PAGE_CARDS, flt)
            except ApiError as exc:
                context["error"] = exc.message
                status = exc.status
            except NoLiveVersion:
                context["error"] = "No recommendations have been published yet. Please come back a little later."
                status = 503
            except (RedisConnectionError, RedisTimeoutError, VersionGone):
                log.warning("web page: store unavailable")
                context["error"] = "Recommendations are unavailable right now. Please try again in a moment."
                status = 503
            except Exception:  # never a raw JSON error on the page: an error card in the page instead
                log.exception("web page: unexpected error", extra={"user": user})
                context["error"] = "Something went wrong on our side; please try again in a moment."
                status = 500
    headers = {"Retry-After": str(svc.settings.retry_after_seconds)} if status == 503 else None
    return templates.TemplateResponse(request, "index.html", context, status_code=status, headers=headers)


async def docs(request: Request) -> Response:
    s = services(request).settings
    spec = openapi.document(s.default_n, s.max_n)
    operations = [{"method": method.upper(), "path": path, **op}
                  for path, item in spec["paths"].items() for method, op in item.items()]
    return templates.TemplateResponse(request, "docs.html", {"spec": spec, "operations": operations})


async def favicon(request: Request) -> Response:
    """Browsers ask for /favicon.ico on every page load; the SVG icon answers it (and the page links it)."""
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                        headers={"cache-control": "public, max-age=86400"})
