"""Provider failures → Quarry errors: a fixed reason and the status, never the provider's words.

Choices (documented in docs/extraction.md): an unknown or unsupported model is the
client's mistake (400 `invalid_model`); a rejected key, a timeout, an unreachable
`api_base`, a rate limit that outlasts the retries and any provider 5xx are 502s
with their own codes, because Quarry's 401 means *Quarry's* key was refused.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from shared.errors import BadRequest, QuarryError, UpstreamError
from shared.net.ssrf import UnsafeUrl

_MAX_REASON = 300
# Key-looking tokens (sk-…, sk-ant-…, AIza…, long hex/base64 runs) are masked even when they
# are not the caller's exact key: providers echo partial or other keys in their messages.
_KEYISH = re.compile(r"\b(?:sk|pk|rk|key|api)[-_][A-Za-z0-9_\-*.]{6,}|\bAIza[0-9A-Za-z_\-]{20,}"
                     r"|\b[A-Za-z0-9+/_\-]{32,}\b")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def scrub(text: str, secrets: list[str]) -> str:
    """`text` without the secrets (or any key-looking token), on one line, bounded in length."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            if len(secret) > 8:
                text = text.replace(secret[:8], "***").replace(secret[-6:], "***")
    text = _KEYISH.sub("***", _ANSI.sub("", text))
    text = " ".join(text.split())
    return text[:_MAX_REASON] + ("…" if len(text) > _MAX_REASON else "")


def is_retryable(exc: Exception) -> bool:
    """Rate limits and provider-side 5xx are worth another try; the rest are final."""
    from litellm import exceptions as litellm

    retryable = (litellm.RateLimitError, litellm.InternalServerError,
                 litellm.ServiceUnavailableError, litellm.BadGatewayError)
    return isinstance(exc, retryable) and not is_connection_failure(exc)


def is_connection_failure(exc: Exception) -> bool:
    """Nothing answered at all (wrong host or port): retrying will not help.

    LiteLLM reports a refused connection to an OpenAI-compatible base as an
    InternalServerError saying "Connection error."; its own APIConnectionError covers the rest.
    """
    from litellm import exceptions as litellm

    if isinstance(exc, litellm.Timeout):
        return False
    return isinstance(exc, litellm.APIConnectionError) or "connection error" in str(exc).lower()


def retry_after_s(exc: Exception) -> float | None:
    """The provider's `Retry-After` hint in seconds, when it sent one."""
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def to_quarry_error(exc: Exception, *, model: str, api_base: str | None,
                    secrets: list[str]) -> QuarryError:
    """The client-facing error for a failed provider call: a fixed phrase and the HTTP status.

    The provider's own words (and whatever a redirect target answered) stay in the worker's
    log: a client-chosen `api_base` must not turn Quarry into a proxy that reads responses back.
    """
    from litellm import exceptions as litellm

    where = f" at {scrub(api_base, secrets)}" if api_base else ""
    status, note = _status(exc), _status_note(exc)
    if refused_by_guard(exc):
        return UnsafeUrl(f"The LLM provider{where} sent the request on to an address that is "
                         f"not allowed ({model}).")
    if isinstance(exc, litellm.Timeout):
        return UpstreamError(f"The LLM provider{where} did not answer in time ({model}).",
                             code="llm_timeout")
    if is_connection_failure(exc):
        return UpstreamError(f"Could not reach the LLM provider{where} ({model}).",
                             code="llm_unreachable")
    # LiteLLM maps some statuses by the provider's wording; the status decides as well.
    if isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError)) or (
            status in (401, 403)):
        return UpstreamError(f"The LLM provider rejected the API key for {model}{note}.",
                             code="llm_authentication_failed")
    if isinstance(exc, litellm.NotFoundError) or status == 404 or _is_unknown_model(exc):
        return BadRequest(f"Unknown or unsupported model {model!r}{note}.", code="invalid_model")
    if isinstance(exc, litellm.RateLimitError) or status == 429:
        return UpstreamError(f"The LLM provider kept rate-limiting {model}{note}.",
                             code="llm_rate_limited")
    return UpstreamError(f"The LLM provider failed for {model}{note}.", code="llm_provider_error")


def refused_by_guard(exc: BaseException) -> bool:
    """Whether the outbound guard refused a connection somewhere under `exc` (e.g. a redirect).

    LiteLLM and the OpenAI SDK wrap it in their own errors; it stays in the exception chain.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, UnsafeUrl):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def provider_reason(exc: Exception, secrets: list[str]) -> str:
    """The provider's own words, scrubbed: for the worker's log only."""
    return scrub(_reason(exc), secrets)


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _status_note(exc: Exception) -> str:
    status = _status(exc)
    if status is None:
        return ""
    try:
        return f" (HTTP {status} {HTTPStatus(status).phrase})"
    except ValueError:
        return f" (HTTP {status})"


def _is_unknown_model(exc: Exception) -> bool:
    from litellm import exceptions as litellm

    if not isinstance(exc, litellm.BadRequestError):
        return False
    text = str(exc).lower()
    return "provider not provided" in text or "model_not_found" in text or (
        "model" in text and ("does not exist" in text or "not found" in text or "invalid model" in text))


def _reason(exc: Exception) -> str:
    # LiteLLM prefixes messages with its own class path; the provider's words follow.
    text = str(getattr(exc, "message", None) or exc)
    text = re.sub(r"^litellm\.\w+:\s*", "", text)
    text = re.sub(r"^(?:\w+Exception|\w+Error)\s*-\s*", "", text)
    return text.split("\n Pass model as")[0].strip() or type(exc).__name__
