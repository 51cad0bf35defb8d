"""When to retry a call and how long to wait: 429/503/connection errors, jittered backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from quarry_client.errors import retry_after_seconds

RETRY_STATUSES = frozenset({429, 503})
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

    def delay_for_response(self, attempt: int, response: httpx.Response) -> float | None:
        """A delay if this response should be retried, else None."""
        if response.status_code not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        if _is_finished_job(response):  # a job that failed with 503 stays failed: no point asking again
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


def _is_finished_job(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("job_id"))
