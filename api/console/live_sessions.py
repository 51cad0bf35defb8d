"""Which console sessions are still live, kept server-side in Redis.

A sealed cookie cannot be taken back once issued, so each session has an id and an
allowlist entry (`console:session:<id>`) that lives as long as the cookie. Sign-out deletes
the entry: a copy of the cookie saved before sign-out is then no session at all, instead
of working until it expires. An allowlist rather than a denylist fails closed: if Redis
loses its data, sessions end rather than come back to life.
"""

from __future__ import annotations

import secrets

from shared.redis_client import get_redis

PREFIX = "console:session:"


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def remember(session_id: str, ttl_s: int) -> None:
    """Mark the session live for `ttl_s` seconds (its cookie's lifetime)."""
    get_redis().set(PREFIX + session_id, b"1", ex=max(1, ttl_s))


def is_live(session_id: str) -> bool:
    return bool(session_id) and bool(get_redis().exists(PREFIX + session_id))


def forget(session_id: str) -> None:
    """End the session everywhere its cookie was copied."""
    get_redis().delete(PREFIX + session_id)
