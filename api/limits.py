"""Fairness at the door: per-tenant rate limits, the heavy in-flight caps (per server and per
tenant), the per-tenant cap on sync waits, the queue guard."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_response
from shared.errors import RateLimited, ServiceUnavailable
from shared.limits.gcra import check_rate
from shared.queue import queue_depth
from shared.settings import get_settings
from shared.tenants.service import Caller

HEAVY_ROUTES = frozenset({
    "/v1/extract", "/v1/to-markdown", "/v1/ocr/to-markdown", "/v1/canonical", "/v1/batches",
    "/v1/training-jobs",  # free, but it runs every example through the pipeline
    "/console/playground",  # the console's extract/markdown form: the same calls
    "/console/training",  # the console's training form: POST /v1/training-jobs
})
RATE_HEADERS_STATE = "rate_limit_headers"
CALLER_STATE = "caller"


class RateLimitExceeded(RateLimited):
    """The tenant's bucket is empty: `Retry-After` is the limiter's own wait, in whole
    seconds, rounded up and at least 1."""

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__("Rate limit exceeded")
        self.retry_after_s = max(1, -(-retry_after_ms // 1000))


def is_heavy(method: str, path: str) -> bool:
    return method == "POST" and path.rstrip("/") in HEAVY_ROUTES


def apply_rate_limit(request: Request, caller: Caller) -> None:
    """Take a token from the caller's bucket (its plan's, with the tenant's overrides on
    top); the headers ride on the response either way."""
    bucket = "heavy" if is_heavy(request.method, request.url.path) else "general"
    decision = check_rate(caller.tenant_id, bucket, caller.limits.bucket(bucket))
    request.scope.setdefault("state", {})[RATE_HEADERS_STATE] = decision.headers()
    if not decision.allowed:
        raise RateLimitExceeded(decision.retry_after_ms)


def guard_queue_depth() -> None:
    """Refuse new heavy work while the backlog is past its bound, instead of growing it."""
    if queue_depth() > get_settings().max_queue_depth:
        raise ServiceUnavailable("The job queue is full, retry shortly.")


def has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") not in (b"", b"0")


class HeavySlot:
    """One heavy request's place in this server's counts, given back once."""

    def __init__(self, counts: Counter[str], tenant_id: str) -> None:
        self._counts, self._tenant_id, self._held = counts, tenant_id, True
        counts[tenant_id] += 1

    def release(self) -> None:
        if self._held:
            self._held = False
            _decrement(self._counts, self._tenant_id)


_current_slot: ContextVar[HeavySlot | None] = ContextVar("heavy_slot", default=None)
_waiting: Counter[str] = Counter()


class HeavyInflightCap:
    """At most `max_inflight_heavy` heavy requests in this process (beyond it, 503 at once),
    and at most `max_inflight_heavy_per_tenant` of one tenant's (beyond it, 429 at once), so
    one tenant's stalled uploads cannot take every place. A sync call gives its place back
    when it starts waiting (`sync_wait`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.by_tenant: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_heavy(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        caller: Caller | None = scope.get("state", {}).get(CALLER_STATE)
        tenant_id = caller.tenant_id if caller else ""
        refusal = self._refusal(tenant_id)
        if refusal is not None:
            response = error_response(refusal)
            if has_body(scope):  # the body is never read: the connection cannot carry another
                response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        slot = HeavySlot(self.by_tenant, tenant_id)
        token = _current_slot.set(slot)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_slot.reset(token)
            slot.release()

    def _refusal(self, tenant_id: str) -> RateLimited | ServiceUnavailable | None:
        settings = get_settings()
        if self.by_tenant[tenant_id] >= settings.max_inflight_heavy_per_tenant:
            return RateLimited("Too many of this tenant's requests in flight on this server, "
                               "retry shortly.")
        if self.by_tenant.total() >= settings.max_inflight_heavy:
            return ServiceUnavailable("Too many requests in flight on this server, retry shortly.")
        return None


@contextmanager
def sync_wait(tenant_id: str) -> Iterator[bool]:
    """A sync call waiting for its job: its heavy place (body read and submission done) goes
    back, and it takes one of the tenant's `max_waiting_per_tenant` waits on this server.
    Yields False when they are all taken: the call answers 202 at once instead."""
    slot = _current_slot.get()
    if slot is not None:
        slot.release()
    if _waiting[tenant_id] >= get_settings().max_waiting_per_tenant:
        yield False
        return
    _waiting[tenant_id] += 1
    try:
        yield True
    finally:
        _decrement(_waiting, tenant_id)


def _decrement(counts: Counter[str], tenant_id: str) -> None:
    counts[tenant_id] -= 1
    if counts[tenant_id] <= 0:
        del counts[tenant_id]  # the counts stay as small as the tenants in flight
