"""The services the app's lifespan builds at start-up, and their typed access from a request."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.requests import Request

from animerec.common.config import CoreSettings
from animerec.common.recstore import AsyncRecStore

from .coldstart import CrawlRequester
from .feedback import FeedbackSink
from .feedbackrules import FeedbackRules
from .metrics import ApiMetrics
from .service import Recommender
from .settings import ApiSettings


@dataclass(frozen=True)
class Services:
    """Everything a request needs, all of it connected: the lifespan yields it as its state once start-up is
    done, so no route sees a half-built one."""

    core: CoreSettings
    settings: ApiSettings
    metrics: ApiMetrics
    redis: aioredis.Redis
    store: AsyncRecStore
    recommender: Recommender
    crawler: CrawlRequester
    feedback: FeedbackSink
    rules: FeedbackRules


def services(request: Request) -> Services:
    """The started services (Starlette copies the lifespan's state into every request's state)."""
    svc = getattr(request.state, "services", None)
    if svc is None:  # a host that entered the lifespan itself (app.router.lifespan_context) has no request state
        svc = getattr(request.app.state, "services", None)
    if not isinstance(svc, Services):
        raise RuntimeError("the app's lifespan has not run: no services for this request")
    return svc
