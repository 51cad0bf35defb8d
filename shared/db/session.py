"""Engine, sessions and the one place transactions commit.

`transaction()` commits on success, rolls back on error and then runs the
callbacks registered with `after_commit()` — that is how messages are enqueued
only once the rows they refer to exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from shared.errors import ServiceUnavailable
from shared.settings import get_settings

_AFTER_COMMIT = "after_commit"


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    if not settings.database_url:
        raise RuntimeError("QUARRY_DATABASE_URL is not set")
    return create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        # Errors and logs show statements, never the values bound to them (keys, names, files).
        hide_parameters=True,
        pool_timeout=settings.db_pool_timeout_s,
        connect_args={"connect_timeout": settings.db_connect_timeout_s},
    )


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits at the end of the block, or not at all."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except DBAPIError as exc:
        session.rollback()
        if exc.connection_invalidated or isinstance(exc.orig, OSError) or _is_connection_error(exc):
            raise ServiceUnavailable("Database unavailable, retry shortly.") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        callbacks = session.info.pop(_AFTER_COMMIT, [])
        session.close()
    for callback in callbacks:
        callback()


def _is_connection_error(exc: DBAPIError) -> bool:
    from psycopg import OperationalError

    return isinstance(exc.orig, OperationalError)


def reset_engine() -> None:
    """Forget the engine (tests and forked workers build a fresh pool)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()
