"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from shared.contract.resources import Health, Readiness
from shared.db.session import transaction
from shared.jobs.events import ping_redis
from shared.storage.factory import get_storage

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def get_health() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "A dependency is down."}})
def get_readiness() -> JSONResponse:
    checks: dict[str, Any] = {}
    for name, check in (("database", _check_database), ("redis", ping_redis),
                        ("storage", lambda: get_storage().check())):
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # readiness reports any failure instead of raising
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503,
                        headers=None if ready else {"Retry-After": "1"})


def _check_database() -> None:
    with transaction() as session:
        session.execute(text("SELECT 1"))
