"""One exception hierarchy; each error carries its HTTP status and error code.

Services raise these; `api/errors.py` renders them as `{"detail", "code"}` and the
worker stores them on the job. Nothing here knows about HTTP frameworks.
"""

from __future__ import annotations

from typing import Any, ClassVar


class QuarryError(Exception):
    """Base error: a human sentence (`detail`), a snake_case `code` and a status."""

    status_code = 500
    code = "internal_error"
    default_detail = "Internal server error."
    variants: ClassVar[dict[str, str]] = {}
    """Docs only: the other codes this class is raised with (`code=`), and what each means.
    The OpenAPI document lists them under the class's status (`api/responses.py`)."""

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def to_body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}


class BadRequest(QuarryError):
    """The request is malformed or a value is out of its documented range."""

    status_code = 400
    code = "bad_request"
    default_detail = "Bad request."
    variants: ClassVar[dict[str, str]] = {
        "empty_file": "The file has no bytes.",
        "schema_mismatch": "A schema sent with `artifact_id` differs from the artifact's.",
        "llm_required": "The mode or artifact needs an LLM and none is configured or sent.",
        "invalid_model": "The BYOK model name or endpoint is not usable.",
        "invalid_label": "A training example's `expected` is not valid for the schema.",
        "example_count_mismatch": "Training files and `expected` labels differ in number.",
        "too_few_examples": "Too few training examples.",
        "too_many_examples": "Too many training examples.",
        "too_many_items": "A batch has more items than the tenant's plan allows.",
    }


class InvalidRequest(BadRequest):
    """A field is missing, unknown, of the wrong type or out of range (named in `detail`)."""

    code = "invalid_request"


class InvalidFile(BadRequest):
    """The file is damaged, spoofed (signature does not match its type) or encrypted."""

    code = "invalid_file"
    variants: ClassVar[dict[str, str]] = {
        "nesting_too_deep": "The file (HTML, XML) nests deeper than a parser may follow."}


class UnsupportedFileType(BadRequest):
    """The file's type is not one Quarry reads."""

    code = "unsupported_file_type"


class InvalidSchema(BadRequest):
    """`schema` is not valid JSON, nor a JSON Schema or shorthand map."""

    code = "invalid_schema"


class SchemaTooLarge(InvalidSchema):
    """A schema over the size, property or expanded-size bounds (shared/extraction/schema.py)."""

    code = "schema_too_large"


class Unauthorized(QuarryError):
    """Missing, invalid or inactive API key."""

    status_code = 401
    code = "unauthorized"
    default_detail = "Missing, invalid or inactive API key."


class InsufficientCredits(QuarryError):
    """The balance cannot cover the pages this call holds."""

    status_code = 402
    code = "insufficient_credits"
    default_detail = "Not enough credits for this request."


class Forbidden(QuarryError):
    """The key may not act on that tenant, or the route is admin-only."""

    status_code = 403
    code = "forbidden"
    default_detail = "This key may not perform that action."


class NotFound(QuarryError):
    """No such resource for this tenant."""

    status_code = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(QuarryError):
    """`Idempotency-Key` reused with another body, or the resource's state forbids the action."""

    status_code = 409
    code = "conflict"
    default_detail = "Conflict."
    variants: ClassVar[dict[str, str]] = {
        "upload_exists": "The presigned upload already holds other bytes.",
        "upload_changed": "The bytes behind a `file_uri` changed after they were first read."}


class PayloadTooLarge(QuarryError):
    """The body or file is over its limit."""

    status_code = 413
    code = "payload_too_large"
    default_detail = "File exceeds the upload size limit."
    variants: ClassVar[dict[str, str]] = {
        "too_many_pages": "More pages than a document may have.",
        "image_too_large": "An image over the pixel limit.",
        "archive_too_large": "An archive or container part over its size limit."}


class SchemaValidationFailed(QuarryError):
    """Extraction ran but its output fails the schema and `allow_partial` is false."""

    status_code = 422
    code = "schema_validation_failed"
    default_detail = "Extraction output does not satisfy the schema."


class RateLimited(QuarryError):
    """The tenant's rate limit (or its heavy requests in flight) is exceeded; see `Retry-After`."""

    status_code = 429
    code = "rate_limited"
    default_detail = "Rate limit exceeded"


class UpstreamError(QuarryError):
    """An LLM provider or storage failed."""

    status_code = 502
    code = "upstream_error"
    default_detail = "Upstream provider error."
    variants: ClassVar[dict[str, str]] = {
        "llm_timeout": "The LLM provider did not answer in time.",
        "llm_unreachable": "The LLM provider could not be reached.",
        "llm_authentication_failed": "The LLM provider refused the key.",
        "llm_rate_limited": "The LLM provider rate-limited the call.",
        "llm_provider_error": "The LLM provider failed."}


class AllProvidersFailed(QuarryError):
    """Every link of the extraction (or OCR) provider chain failed; nothing is charged.

    `rate_limited` is true when the last failures were rate limits or cooldowns (the work
    may succeed later); `retry_after_s` is the providers' hint, when they gave one.
    """

    status_code = 500
    code = "all_providers_failed"
    default_detail = "All fallback providers failed to process the document."

    def __init__(self, detail: str | None = None, *, rate_limited: bool = False,
                 retry_after_s: float | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.rate_limited = rate_limited
        self.retry_after_s = retry_after_s


class ServiceUnavailable(QuarryError):
    """A dependency is down or the server is at capacity; see `Retry-After`."""

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
