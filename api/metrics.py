"""Request metrics and the API's `/metrics` route."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.types import Scope

from shared.jobs.states import QUEUES
from shared.metrics import REQUEST_SECONDS, REQUESTS, BacklogCollector

router = APIRouter(tags=["health"])


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time a request by route template (not raw path: ids would explode labels)."""
    route = getattr(scope.get("route"), "path", "unmatched")
    REQUESTS.labels(scope["method"], route, str(status)).inc()
    REQUEST_SECONDS.labels(scope["method"], route).observe(seconds)


@lru_cache
def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BacklogCollector(QUEUES))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    body = generate_latest(REGISTRY) + generate_latest(_registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
