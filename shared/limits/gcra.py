"""Per-tenant rate limits: GCRA in one Lua script, so every API process shares one bucket.

The script reads Redis' own clock, so API servers with skewed clocks still agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.limits.effective import effective_limits
from shared.limits.plans import Limit
from shared.redis_client import get_redis

__all__ = ["Decision", "Limit", "check_rate", "limit_for"]

_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tolerance = interval * burst
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - tolerance > now then
  return {0, 0, math.ceil(new_tat - tolerance - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return {1, math.floor((tolerance - (new_tat - now)) / interval), 0, math.ceil(new_tat - now)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: Limit
    remaining: int
    retry_after_ms: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit.burst),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(-(-self.reset_ms // 1000)),
        }


def limit_for(bucket: str, overrides: dict[str, Any] | None, plan: str | None = None) -> Limit:
    """`bucket`'s limit on the tenant's plan (the default plan for None), its overrides on top."""
    return effective_limits(plan, overrides).bucket(bucket)


@lru_cache
def _script() -> Any:
    return get_redis().register_script(_GCRA)


def check_rate(tenant_id: str, bucket: str, limit: Limit) -> Decision:
    """Take one request from the tenant's bucket; raises redis errors when Redis is down."""
    interval_ms = 1000.0 / limit.rate_per_s
    allowed, remaining, retry_ms, reset_ms = _script()(
        keys=[f"quarry:rate:{tenant_id}:{bucket}"], args=[interval_ms, limit.burst]
    )
    return Decision(bool(allowed), limit, int(remaining), int(retry_ms), int(reset_ms))
