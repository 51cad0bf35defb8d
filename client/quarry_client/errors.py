"""One exception hierarchy: every API error carries `detail`, `code` and `status_code`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx


class QuarryError(Exception):
    """Base of every error the client raises."""

    status_code: int | None = None
    default_code = "error"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        body: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        if status_code is not None:
            self.status_code = status_code
        self.body: dict[str, Any] = dict(body or {})
        self.request_id = request_id
        self.retry_after = retry_after
        self.server: str | None = None
        """The server that answered (scheme, host and port), when the error is an HTTP answer."""

    @property
    def job_id(self) -> str | None:
        """Set when the error is a finished job's failure."""
        value = self.body.get("job_id")
        return str(value) if value else None

    def __str__(self) -> str:
        status = f"{self.status_code} " if self.status_code else ""
        return f"{status}{self.code}: {self.detail}"


class BadRequest(QuarryError):
    status_code = 400
    default_code = "bad_request"


class AuthenticationError(QuarryError):
    status_code = 401
    default_code = "unauthorized"


class InsufficientCredits(QuarryError):
    status_code = 402
    default_code = "insufficient_credits"


class PermissionDenied(QuarryError):
    status_code = 403
    default_code = "forbidden"


class NotFound(QuarryError):
    status_code = 404
    default_code = "not_found"


class Conflict(QuarryError):
    status_code = 409
    default_code = "conflict"


class JobCanceled(Conflict):
    default_code = "job_canceled"


class PayloadTooLarge(QuarryError):
    status_code = 413
    default_code = "payload_too_large"


class SchemaValidationFailed(QuarryError):
    status_code = 422
    default_code = "schema_validation_failed"


class RateLimited(QuarryError):
    status_code = 429
    default_code = "rate_limited"


class ServerError(QuarryError):
    status_code = 500
    default_code = "internal_error"


class UpstreamError(ServerError):
    status_code = 502
    default_code = "upstream_error"


class ServiceUnavailable(ServerError):
    status_code = 503
    default_code = "service_unavailable"


class QuarryConnectionError(QuarryError):
    """The server could not be reached (after retries)."""

    default_code = "connection_error"


class QuarryTimeout(QuarryError):
    """A job did not finish within the time the caller allowed."""

    default_code = "timeout"


_BY_STATUS: dict[int, type[QuarryError]] = {
    int(cls.status_code or 0): cls
    for cls in (BadRequest, AuthenticationError, InsufficientCredits, PermissionDenied, NotFound,
                Conflict, PayloadTooLarge, SchemaValidationFailed, RateLimited, ServerError,
                UpstreamError, ServiceUnavailable)
}


def error_class(status_code: int, code: str | None = None) -> type[QuarryError]:
    if code == "job_canceled":
        return JobCanceled
    if status_code in _BY_STATUS:
        return _BY_STATUS[status_code]
    return ServerError if status_code >= 500 else QuarryError


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date; the backoff schedule applies instead


def error_from_response(response: httpx.Response) -> QuarryError:
    """Build the typed error for a non-2xx response (JSON `{"detail", "code"}` or anything else)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:500] or response.reason_phrase}
    detail = body.get("detail")
    text = detail if isinstance(detail, str) else str(detail or response.reason_phrase)
    code = body.get("code") if isinstance(body.get("code"), str) else None
    cls = error_class(response.status_code, code)
    error = cls(text, code=code, status_code=response.status_code, body=body,
                request_id=response.headers.get("x-request-id"),
                retry_after=retry_after_seconds(response.headers))
    try:
        url = response.request.url
    except RuntimeError:  # a response built by hand, with no request behind it
        return error
    error.server = f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"
    return error


def error_from_job(job_id: str, status: str, error: Mapping[str, Any] | None) -> QuarryError:
    """The error a failed or canceled job stands for, as the sync call would have raised it."""
    if status == "canceled":
        return JobCanceled("The job was canceled.", code="job_canceled", status_code=409,
                           body={"job_id": job_id})
    error = dict(error or {})
    status_code = int(error.get("status_code") or 500)
    code = error.get("code") if isinstance(error.get("code"), str) else None
    detail = str(error.get("detail") or "The job failed.")
    return error_class(status_code, code)(detail, code=code, status_code=status_code,
                                          body={**error, "job_id": job_id})
