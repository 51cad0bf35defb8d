"""When to retry a call and how long to wait.

Retried: connection errors, 429 and 503 (the server refused before doing any work) on any
call; 408, 409 "still in progress" and every other 5xx only on *replayable* calls (reads,
PUT/DELETE, and job-creating POSTs under an `Idempotency-Key`), where sending the same
request again cannot do the work twice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from quarry_client.errors import retry_after_seconds

ALWAYS_RETRY = frozenset({429, 503})
"""The server refused at the door (rate limit, backlog): nothing was done, any call may retry."""
REPLAY_RETRY = frozenset({408, 500, 502, 504})
"""Retried when the call is replayable (same Idempotency-Key, or not a POST)."""
IN_PROGRESS_CODES = frozenset({"in_progress", "idempotency_in_progress", "request_in_progress"})
"""A 409 with one of these codes: the first request with this key is still running."""
# Errors that prove the request never reached the server: safe to retry on any method.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget and backoff schedule.

    The delay is `Retry-After` (when the server sent one) plus a random share of the
    exponential backoff, so many clients told "retry in 1 s" do not return in lockstep.
    """

    max_retries: int = 5
    backoff_base: float = 0.25
    backoff_max: float = 10.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.backoff_max, self.backoff_base * (2 ** attempt)))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to sleep before retry number `attempt + 1` (attempt counts from 0)."""
        ceiling = self.backoff(attempt)
        if retry_after is None:
            return random.uniform(ceiling / 2, ceiling)
        return retry_after + random.uniform(0, min(ceiling, max(retry_after, self.backoff_base)))

    def delay_for_response(self, attempt: int, response: httpx.Response, *,
                           replayable: bool = True) -> float | None:
        """A delay if this response should be retried, else None."""
        if attempt >= self.max_retries or not should_retry(response, replayable=replayable):
            return None
        return self.delay(attempt, retry_after_seconds(response.headers))

    def delay_for_error(self, attempt: int, error: httpx.TransportError, *, replayable: bool) -> float | None:
        """A delay if this transport error should be retried, else None.

        `replayable` calls (reads, PUT/DELETE, job creation under an Idempotency-Key) retry any
        transport error; others only errors where nothing reached the server.
        """
        if attempt >= self.max_retries:
            return None
        if replayable or isinstance(error, NOT_SENT_ERRORS):
            return self.delay(attempt)
        return None


NO_RETRIES = RetryPolicy(max_retries=0)


def should_retry(response: httpx.Response, *, replayable: bool) -> bool:
    status = response.status_code
    if status < 400:
        return False
    retryable = status in ALWAYS_RETRY or (replayable and (
        status in REPLAY_RETRY or status >= 500 or (status == 409 and _in_progress(response))))
    # A job that failed with a 5xx stays failed: its answer names the job, asking again is no use.
    return retryable and not _is_finished_job(response)


def _body(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _in_progress(response: httpx.Response) -> bool:
    body = _body(response)
    return isinstance(body, dict) and body.get("code") in IN_PROGRESS_CODES


def _is_finished_job(response: httpx.Response) -> bool:
    body = _body(response)
    return isinstance(body, dict) and bool(body.get("job_id"))
