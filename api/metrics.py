"""Request metrics middleware and the API's `/metrics` route."""

from __future__ import annotations

import time
from functools import lru_cache

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.jobs.states import QUEUES
from shared.metrics import REQUEST_SECONDS, REQUESTS, BacklogCollector

router = APIRouter(tags=["health"])


class RequestMetrics:
    """Count and time requests by route template (not raw path, so ids don't explode labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(time.perf_counter() - started)


@lru_cache
def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BacklogCollector(QUEUES))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    body = generate_latest(REGISTRY) + generate_latest(_registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
