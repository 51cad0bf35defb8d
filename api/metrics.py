"""Request metrics and the API's `/metrics` route."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.routing import Match
from starlette.types import Scope

from shared.jobs.states import QUEUES
from shared.metrics import REQUEST_SECONDS, REQUESTS, BacklogCollector

router = APIRouter(tags=["health"])


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Count and time a request by route template (not raw path: ids would explode labels)."""
    route = getattr(scope.get("route"), "path", None) or _route_template(scope)
    REQUESTS.labels(scope["method"], route, str(status)).inc()
    REQUEST_SECONDS.labels(scope["method"], route).observe(seconds)


def _route_template(scope: Scope) -> str:
    # Answers sent before routing (401, 429, 413 at the edge) still count under their route.
    return _matching_path(getattr(scope.get("app"), "routes", ()), scope) or "unmatched"


def _matching_path(routes: Iterable[Any], scope: Scope) -> str | None:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            found = _matching_path(included.routes, scope)
            if found:
                return found
            continue
        match, _ = route.matches(scope)
        if match == Match.FULL and isinstance(getattr(route, "path", None), str):
            return str(route.path)
    return None


@lru_cache
def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(BacklogCollector(QUEUES))
    return registry


@router.get("/metrics", include_in_schema=False)
def metrics() -> Response:
    body = generate_latest(REGISTRY) + generate_latest(_registry())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
