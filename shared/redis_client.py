"""The process's Redis clients (rate limits, pub/sub, queue depth), built once each."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis
import redis.asyncio as aioredis

from shared.settings import get_settings


def _options() -> dict[str, Any]:
    settings = get_settings()
    return {"socket_timeout": settings.redis_socket_timeout_s,
            "socket_connect_timeout": settings.redis_socket_timeout_s}


@lru_cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url, **_options())


@lru_cache
def get_async_redis() -> aioredis.Redis:
    """The asyncio client; one pool per process, as the API runs a single event loop."""
    return aioredis.Redis.from_url(get_settings().redis_url, **_options())
