"""A per-tenant cap on concurrent `file_url` fetches, shared by every worker.

Each tenant has a Redis sorted set of slot tokens scored by when they expire; one Lua
script drops expired tokens and takes a slot only below the cap, so workers never race.
A worker killed mid-fetch cannot leak its slot: the token expires after the fetch deadline.

The check runs before the job is claimed: a job whose tenant is at its cap stays queued
and its task is re-sent with a countdown (`TenantAtCap`), so it holds no worker slot and
uses none of the job's attempts while it waits.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

import redis

from shared.clock import utcnow
from shared.db.session import transaction
from shared.jobs.models import Job, Upload
from shared.jobs.options import load_options
from shared.jobs.states import TERMINAL_STATUSES, JobStatus
from shared.redis_client import get_redis
from shared.settings import get_settings

log = logging.getLogger(__name__)

# A slot outlives the fetch deadline by this margin (claiming and storing take a moment too).
SLOT_MARGIN_S = 30.0

_ACQUIRE = """
local cap = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= cap then
  return 0
end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""


@dataclass(frozen=True)
class TenantAtCap:
    """The tenant already runs its cap of fetches; look again after `retry_in_s`."""

    retry_in_s: float


@dataclass(frozen=True)
class FetchSlot:
    """One of the tenant's fetch slots, held until released (or until it expires)."""

    key: str
    token: str

    def release(self) -> None:
        """Give the slot back; releasing twice is harmless."""
        try:
            get_redis().zrem(self.key, self.token)
        except redis.RedisError as exc:  # it expires on its own
            log.warning("could not release a file_url slot: %s", exc)

    def __enter__(self) -> FetchSlot:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()


@lru_cache
def _script() -> Any:
    return get_redis().register_script(_ACQUIRE)


def fetch_slot(job_id: str) -> FetchSlot | TenantAtCap | None:
    """A slot for the job's `file_url` fetch; None when the job needs no fetch (no
    `file_url`, already fetched, finished, gone) or Redis cannot be asked (fail open: the
    rate floor and deadline still bound the fetch)."""
    tenant_id = _tenant_fetching(job_id)
    if tenant_id is None:
        return None
    settings = get_settings()
    slot = FetchSlot(key=f"quarry:file_url:{tenant_id}", token=secrets.token_hex(8))
    ttl_ms = int((settings.file_url_timeout_s + SLOT_MARGIN_S) * 1000)
    try:
        taken = _script()(keys=[slot.key],
                          args=[slot.token, settings.file_url_max_per_tenant, ttl_ms])
    except redis.RedisError as exc:
        log.warning("file_url slots unavailable, fetching without one: %s", exc)
        return None
    if taken:
        return slot
    _keep_from_sweeper(job_id)
    return TenantAtCap(settings.file_url_wait_s)


def _tenant_fetching(job_id: str) -> str | None:
    """The job's tenant when the job still has to fetch its `file_url`."""
    with transaction() as session:
        job = session.get(Job, job_id)
        if job is None or job.status in TERMINAL_STATUSES:
            return None
        if not load_options(job.operation, job.options).file_url:
            return None
        if session.get_one(Upload, job.upload_id).uploaded_at is not None:
            return None
        return job.tenant_id


def _keep_from_sweeper(job_id: str) -> None:
    """A job waiting for a slot is not lost: without this the sweeper would send it again
    each time it has been queued past `sweeper_stale_queued_s`, piling up duplicates."""
    with transaction() as session:
        job = session.get(Job, job_id)
        if job is not None and job.status == JobStatus.QUEUED:
            job.enqueued_at = utcnow()
