"""Every error becomes `{"detail", "code"}` with its status, here and nowhere else."""

from __future__ import annotations

import logging

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import QuarryError, ServiceUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER = {"Retry-After": "1"}


def error_response(exc: QuarryError) -> JSONResponse:
    headers = RETRY_AFTER if exc.status_code in (429, 503) else None
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)


async def _quarry_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QuarryError)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
        if error.get("type") == "missing":
            problems.append(f"Missing required field: {where}")
        else:
            problems.append(f"{where}: {error.get('msg')}")
    body = {"detail": "; ".join(problems) or "Invalid request.", "code": "invalid_request"}
    return JSONResponse(body, status_code=400)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"detail": str(exc.detail), "code": code}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _dependency_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("dependency unavailable: %s", type(exc).__name__)
    return error_response(ServiceUnavailable("A backing service is unavailable, retry shortly."))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(QuarryError())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(QuarryError, _quarry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for down in (OperationalError, PoolTimeout, redis.ConnectionError, redis.TimeoutError):
        app.add_exception_handler(down, _dependency_down)
    app.add_exception_handler(DBAPIError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
