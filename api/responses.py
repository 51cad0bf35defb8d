"""Error responses for the OpenAPI document, built from the error classes themselves.

Each error code is described once, by the class that raises it (its docstring); a route
names the classes it may raise and gets one documented response per status, listing every
code that status can carry. Every authenticated route may also answer the edge's errors.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shared.contract.jobs import JobAccepted, JobFinished
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InsufficientCredits,
    InvalidFile,
    InvalidRequest,
    InvalidSchema,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SchemaTooLarge,
    SchemaValidationFailed,
    ServiceUnavailable,
    StorageError,
    Unauthorized,
    UnsupportedFileType,
    UpstreamError,
)
from shared.files.failures import OutOfMemory, OutOfTime


class ErrorBody(BaseModel):
    """Every error: a human sentence and a stable snake_case code; some add keys
    (`job_id`, `validation_errors`)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={
        "examples": [{"detail": "Rate limit exceeded", "code": "rate_limited"}]})

    detail: str = Field(description="What went wrong, for a person.")
    code: str = Field(description="What went wrong, for a program.")


class ErrorClass(Protocol):
    status_code: int
    code: str
    __doc__: str | None


class RequestTimeout:
    """The request body did not arrive in time; the connection closes."""

    status_code = 408
    code = "request_timeout"


class InternalError:
    """An unforeseen failure, or every engine failed; the detail never shows internals."""

    status_code = 500
    code = "internal_error"


class JobCanceled:
    """The job was canceled while the call waited for it (`job_id` says which)."""

    status_code = 409
    code = "job_canceled"


# What the edge (`api.middleware.EdgeGuard`, validation, the limiter) may answer on any
# `/v1` route, before the route's own code runs.
EDGE_ERRORS: tuple[ErrorClass, ...] = (InvalidRequest, Unauthorized, RequestTimeout,
                                       PayloadTooLarge, RateLimited, ServiceUnavailable)


def error_responses(*errors: ErrorClass, edge: bool = True) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: one entry per status, its codes described by their class."""
    by_status: dict[int, dict[str, str]] = {}
    for error in (*(EDGE_ERRORS if edge else ()), *errors):
        codes = by_status.setdefault(error.status_code, {})
        codes[error.code] = _summary(error)
        codes.update(vars(error).get("variants", {}))  # the class's own, not inherited
    return {status: {"model": ErrorBody, "description": _describe(codes)}
            for status, codes in sorted(by_status.items())}


def _summary(error: ErrorClass) -> str:
    return " ".join((error.__doc__ or error.code).split())


def _describe(codes: dict[str, str]) -> str:
    return "\n".join(f"- `{code}`: {summary}" for code, summary in codes.items())



LOCATION = {"Location": {"description": "The job's `status_url`.", "schema": {"type": "string"}}}


def job_responses() -> dict[int | str, dict[str, Any]]:
    """A job-creating call: its result within `wait` (200), else the accepted job (202);
    a job that failed answers its own error, with the status it carries."""
    return {
        200: {"model": JobFinished, "description": "The job finished within `wait`."},
        202: {"model": JobAccepted, "headers": LOCATION,
              "description": "Still running (or `wait` was 0): poll `status_url`."},
        **error_responses(BadRequest, InvalidFile, UnsupportedFileType, InvalidSchema,
                          SchemaTooLarge, InsufficientCredits, Forbidden, NotFound, Conflict,
                          JobCanceled, OutOfMemory, OutOfTime, SchemaValidationFailed,
                          InternalError, UpstreamError, StorageError),
    }
