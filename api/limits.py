"""Fairness at the door: per-tenant rate limits, the heavy in-flight cap, the queue guard."""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from shared.errors import RateLimited, ServiceUnavailable
from shared.limits.gcra import check_rate, limit_for
from shared.queue import queue_depth
from shared.settings import get_settings
from shared.tenants.service import Caller

HEAVY_ROUTES = frozenset({
    "/v1/extract", "/v1/to-markdown", "/v1/ocr/to-markdown", "/v1/canonical", "/v1/batches",
    "/v1/training-jobs",  # free, but it runs every example through the pipeline
})
RATE_HEADERS_STATE = "rate_limit_headers"


def is_heavy(method: str, path: str) -> bool:
    return method == "POST" and path.rstrip("/") in HEAVY_ROUTES


def apply_rate_limit(request: Request, caller: Caller) -> None:
    """Take a token from the caller's bucket; the headers ride on the response either way."""
    bucket = "heavy" if is_heavy(request.method, request.url.path) else "general"
    decision = check_rate(caller.tenant_id, bucket, limit_for(bucket, caller.rate_limits))
    request.scope.setdefault("state", {})[RATE_HEADERS_STATE] = decision.headers()
    if not decision.allowed:
        raise RateLimited("Rate limit exceeded")


def guard_queue_depth() -> None:
    """Refuse new heavy work while the backlog is past its bound, instead of growing it."""
    if queue_depth() > get_settings().max_queue_depth:
        raise ServiceUnavailable("The job queue is full, retry shortly.")


class HeavyInflightCap:
    """At most `max_inflight_heavy` heavy requests in this process; beyond it, 503 at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_heavy(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.inflight >= get_settings().max_inflight_heavy:
            busy = ServiceUnavailable("Too many requests in flight on this server, retry shortly.")
            await error_response(busy)(scope, receive, send)
            return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
