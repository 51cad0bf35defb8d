"""One exception hierarchy; each error carries its HTTP status and error code.

Services raise these; `api/errors.py` renders them as `{"detail", "code"}` and the
worker stores them on the job. Nothing here knows about HTTP frameworks.
"""

from __future__ import annotations

from typing import Any


class QuarryError(Exception):
    """Base error: a human sentence (`detail`), a snake_case `code` and a status."""

    status_code = 500
    code = "internal_error"
    default_detail = "Internal server error."

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class BadRequest(QuarryError):
    status_code = 400
    code = "bad_request"
    default_detail = "Bad request."


class InvalidFile(BadRequest):
    code = "invalid_file"


class UnsupportedFileType(BadRequest):
    code = "unsupported_file_type"


class InvalidSchema(BadRequest):
    code = "invalid_schema"


class SchemaTooLarge(InvalidSchema):
    """A schema over the size, property or expanded-size bounds (shared/extraction/schema.py)."""

    code = "schema_too_large"


class Unauthorized(QuarryError):
    status_code = 401
    code = "unauthorized"
    default_detail = "Missing, invalid or inactive API key."


class InsufficientCredits(QuarryError):
    status_code = 402
    code = "insufficient_credits"
    default_detail = "Not enough credits for this request."


class Forbidden(QuarryError):
    status_code = 403
    code = "forbidden"
    default_detail = "This key may not perform that action."


class NotFound(QuarryError):
    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(QuarryError):
    status_code = 409
    code = "conflict"
    default_detail = "Conflict."


class PayloadTooLarge(QuarryError):
    status_code = 413
    code = "payload_too_large"
    default_detail = "File exceeds the upload size limit."


class SchemaValidationFailed(QuarryError):
    status_code = 422
    code = "schema_validation_failed"
    default_detail = "Extraction output does not satisfy the schema."


class RateLimited(QuarryError):
    status_code = 429
    code = "rate_limited"
    default_detail = "Rate limit exceeded"


class UpstreamError(QuarryError):
    status_code = 502
    code = "upstream_error"
    default_detail = "Upstream provider error."


class ServiceUnavailable(QuarryError):
    status_code = 503
    code = "service_unavailable"
    default_detail = "Service temporarily unavailable, retry shortly."


class TransientError(QuarryError):
    """A failure worth retrying (storage hiccup, provider 5xx); never shown as-is."""

    status_code = 503
    code = "transient_error"


class StorageError(UpstreamError):
    """Object storage failed; retried by workers, shown as 502 when it persists."""

    code = "storage_error"
    default_detail = "Upstream storage error."
