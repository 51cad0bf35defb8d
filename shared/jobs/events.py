"""Job-finished notifications over Redis pub/sub, so waiting requests wake at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import redis
import redis.asyncio as aioredis

from shared.redis_client import get_async_redis, get_redis


def channel_for(job_id: str) -> str:
    return f"quarry:job-done:{job_id}"


def publish_job_done(job_id: str) -> None:
    """Best effort: a waiter that misses this finds the result by polling the database."""
    with contextlib.suppress(redis.RedisError):
        get_redis().publish(channel_for(job_id), "done")


async def wait_for_job_done(
    job_id: str, timeout_s: float, is_finished: Callable[[], Awaitable[bool]],
    poll_interval_s: float = 1.0,
) -> bool:
    """Wait until `is_finished()` or the timeout; pub/sub wakes us, polling backs it up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    pubsub = await _subscribe(job_id)
    try:
        while True:
            if await is_finished():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await _next_message(pubsub, min(poll_interval_s, remaining))
    finally:
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]


async def _subscribe(job_id: str) -> aioredis.client.PubSub | None:
    pubsub = get_async_redis().pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(channel_for(job_id))
    except (redis.RedisError, OSError):
        return None
    return pubsub


async def _next_message(pubsub: aioredis.client.PubSub | None, timeout_s: float) -> None:
    if pubsub is None:
        await asyncio.sleep(timeout_s)
        return
    try:
        await pubsub.get_message(timeout=timeout_s)
    except (redis.RedisError, OSError):
        await asyncio.sleep(timeout_s)


def ping_redis() -> None:
    get_redis().ping()
