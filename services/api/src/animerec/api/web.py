"""The web page: a server-rendered form and five cards; static/app.js adds "show me others" and feedback."""

from __future__ import annotations

import logging
from pathlib import Path

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from animerec.common.recstore import NoLiveVersion, VersionGone

from . import errors, openapi
from .errors import ApiError

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")

PAGE_TOP = 20    # cards are sampled from the user's top 20 ...
PAGE_CARDS = 5   # ... five at a time


async def index(request: Request) -> Response:
    svc = request.app.state.services
    raw = request.query_params.get("user", "").strip()
    context = {"user": raw, "answer": None, "error": None, "top": PAGE_TOP, "cards": PAGE_CARDS}
    status = 200
    if raw:
        try:
            user = errors.user_name(raw)
            context["answer"] = await svc.recommender.recommendations(user, PAGE_TOP, PAGE_CARDS)
        except ApiError:
            context["error"] = ("That does not look like a MyAnimeList user name: use 2 to 16 letters, digits, "
                                "'_' or '-'.")
            status = 400
        except NoLiveVersion:
            context["error"] = "No recommendations have been published yet. Please come back a little later."
            status = 503
        except (RedisConnectionError, RedisTimeoutError, VersionGone):
            log.warning("web page: store unavailable")
            context["error"] = "Recommendations are unavailable right now. Please try again in a moment."
            status = 503
    headers = {"Retry-After": str(svc.settings.retry_after_seconds)} if status == 503 else None
    return templates.TemplateResponse(request, "index.html", context, status_code=status, headers=headers)


async def docs(request: Request) -> Response:
    s = request.app.state.services.settings
    spec = openapi.document(s.default_n, s.max_n)
    operations = [{"method": method.upper(), "path": path, **op}
                  for path, item in spec["paths"].items() for method, op in item.items()]
    return templates.TemplateResponse(request, "docs.html", {"spec": spec, "operations": operations})
