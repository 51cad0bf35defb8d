"""Every error becomes `{"detail", "code"}` with its status, here and nowhere else."""

from __future__ import annotations

import logging
import traceback

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import InvalidRequest, QuarryError, ServiceUnavailable

log = logging.getLogger(__name__)

DEPENDENCY_DOWN = (OperationalError, PoolTimeout, redis.ConnectionError, redis.TimeoutError)
HTTP_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 408: "request_timeout", 409: "conflict",
              413: "payload_too_large",
              429: "rate_limited", 503: "service_unavailable"}


def error_response(exc: QuarryError) -> JSONResponse:
    """429 and 503 say when to retry: the wait the error knows (`retry_after_s`, set by the
    rate limiter from its real wait), else one second."""
    headers = None
    if exc.status_code in (429, 503):
        headers = {"Retry-After": str(max(1, int(getattr(exc, "retry_after_s", 1))))}
    return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)


def render_error(exc: Exception) -> JSONResponse:
    """Any exception as the response a client gets; what was not foreseen is logged, never
    shown. Used by the handlers below and by the middleware that answers before the app."""
    if isinstance(exc, QuarryError):
        return error_response(exc)
    if isinstance(exc, StarletteHTTPException):
        return _http_error(exc)
    if isinstance(exc, DEPENDENCY_DOWN):
        log.warning("dependency unavailable: %s", type(exc).__name__)
        return error_response(ServiceUnavailable("A backing service is unavailable, retry shortly."))
    if isinstance(exc, DataError):
        # The database refused a value the request carried (out of range, a NUL character):
        # the edge validation should have caught it, and it is the client's input either way.
        _log_unexpected(exc, level=logging.WARNING)
        body = {"detail": "A value in the request is out of range or contains characters "
                          "that cannot be stored.", "code": "invalid_request"}
        return JSONResponse(body, status_code=400)
    _log_unexpected(exc)
    return error_response(QuarryError())


def _http_error(exc: StarletteHTTPException) -> JSONResponse:
    """Starlette's and FastAPI's own errors (routing, multipart parsing) under documented
    codes. A form part over Starlette's size cap is a 400 there; it is a body too large."""
    status, detail = exc.status_code, str(exc.detail)
    if status == 400 and "exceeded maximum size" in detail:
        status = 413
    code = HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=exc.headers)


def _log_unexpected(exc: Exception, *, level: int = logging.ERROR) -> None:
    if isinstance(exc, DBAPIError):
        # The driver's message can quote row values (`DETAIL: Failing row contains …`) and
        # the parameters are hidden by the engine: log the statement and the error class only.
        sqlstate = getattr(exc.orig, "sqlstate", None)
        log.log(level, "database error %s (sqlstate %s) in: %s\n%s", type(exc.orig).__name__,
                sqlstate, exc.statement, "".join(traceback.format_tb(exc.__traceback__)))
    else:
        log.log(level, "unhandled error", exc_info=exc)


async def _handled(_: Request, exc: Exception) -> JSONResponse:
    return render_error(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
        if error.get("type") == "missing":
            problems.append(f"Missing required field: {where}")
        elif error.get("type") == "extra_forbidden":
            problems.append(f"Unknown field: {where} (not part of this request's body)")
        else:
            problems.append(f"{where}: {error.get('msg')}")
    return error_response(InvalidRequest("; ".join(problems) or "Invalid request."))


def install_error_handlers(app: FastAPI) -> None:
    """Known errors are answered inside the app; anything else reaches the catch-all in
    `api.middleware.RequestContextMiddleware`, which answers 500 and keeps the connection."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    for known in (QuarryError, StarletteHTTPException, *DEPENDENCY_DOWN, DBAPIError):
        app.add_exception_handler(known, _handled)
