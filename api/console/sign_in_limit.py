"""A brake on guessing API keys through the console's sign-in form.

Each failed sign-in counts against the client's address in a fixed window
(`console:sign-in-failures:<address>` in Redis); once an address has failed
`console_sign_in_max_failures` times, the form answers 429 with `Retry-After` until the
window ends. Successful sign-ins neither count nor reset, so a guesser holding one valid key
cannot clear its own count. The address is uvicorn's `request.client`: the peer's, or
`X-Forwarded-For` from a peer named in `--forwarded-allow-ips` (see docs/console.md).
"""

from __future__ import annotations

from fastapi import Request

from shared.errors import RateLimited
from shared.redis_client import get_redis
from shared.settings import get_settings

PREFIX = "console:sign-in-failures:"


class TooManySignInFailures(RateLimited):
    """This address failed to sign in too often; see `Retry-After`."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many failed sign-ins from this address. Try again later.")
        self.retry_after_s = max(1, retry_after_s)


def _key(request: Request) -> str:
    return PREFIX + (request.client.host if request.client else "unknown")


def check_sign_in_allowed(request: Request) -> None:
    """Raise `TooManySignInFailures` while this address is over its limit."""
    key, limit = _key(request), get_settings().console_sign_in_max_failures
    failures = get_redis().get(key)
    if failures is not None and int(failures) >= limit:
        raise TooManySignInFailures(int(get_redis().ttl(key)))


def record_sign_in_failure(request: Request) -> None:
    key, window = _key(request), get_settings().console_sign_in_window_s
    redis = get_redis()
    pipe = redis.pipeline()
    pipe.incr(key)
    pipe.ttl(key)
    _, ttl = pipe.execute()
    if int(ttl) < 0:  # the window starts at the first failure (and a key never outlives one)
        redis.expire(key, window)
