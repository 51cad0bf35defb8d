"""`Idempotency-Key`: the same key and body within the window returns the first record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import Conflict
from shared.settings import get_settings

Record = TypeVar("Record")
"""A table with `tenant_id`, `idempotency_key`, `request_hash` and `created_at` (jobs, batches)."""

# Set per request by the API edge; a list, so a replay noted in a worker thread (which runs
# in a copy of the request's context) is seen by the edge when the response starts.
_replays: ContextVar[list[str] | None] = ContextVar("idempotent_replays", default=None)


@contextmanager
def watch_replays() -> Iterator[list[str]]:
    """Collect the keys this request answered from an earlier record (`Idempotent-Replayed`)."""
    seen: list[str] = []
    token = _replays.set(seen)
    try:
        yield seen
    finally:
        _replays.reset(token)


def fingerprint(body: Any) -> str:
    """A stable hash of a request body (keys sorted), to compare repeats."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def find_repeat(session: Session, model: type[Record], *, tenant_id: str, key: str,
                request_hash: str) -> Record | None:
    """The record first created with `key` inside the window, if any; 409 if its body differs."""
    window_start = utcnow() - timedelta(seconds=get_settings().idempotency_ttl_s)
    table: Any = model
    query = select(model).where(table.tenant_id == tenant_id, table.idempotency_key == key,
                                table.created_at >= window_start)
    existing: Record | None = session.scalars(query).first()
    if existing is not None and getattr(existing, "request_hash", None) != request_hash:
        raise Conflict("Idempotency-Key was already used with a different request body.")
    if existing is not None and (seen := _replays.get()) is not None:
        seen.append(key)
    return existing
