"""Request dependencies: the database session and who is calling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from api.limits import apply_rate_limit
from api.middleware import CALLER_STATE
from shared.contract.paging import MAX_CURSOR, MAX_LIMIT
from shared.db.session import transaction
from shared.tenants.service import Caller, authenticate


def get_session() -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]

# Ids are `<prefix>_<random>` (shared/ids.py); anything else cannot name a row.
ResourceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


# The key as an OpenAPI `apiKey` security scheme, so generic tools know where it goes;
# `auto_error=False`: a missing key is answered by `authenticate`, as a documented 401.
API_KEY = APIKeyHeader(name="X-API-KEY", scheme_name="ApiKey", auto_error=False,
                       description="The tenant's API key, e.g. `qk_…`.")


# Every list's paging parameters: `limit` items from `cursor` (a previous `next_cursor`).
PageLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
PageCursor = Annotated[str | None, Query(max_length=MAX_CURSOR,
                                         description="`next_cursor` of the previous page.")]


def get_caller(
    request: Request, x_api_key: Annotated[str | None, Depends(API_KEY)] = None
) -> Caller:
    """The caller `api.middleware.EdgeGuard` authenticated (and rate-limited) from the
    headers before the body was read; looked up here only where no guard ran."""
    admitted = request.scope.get("state", {}).get(CALLER_STATE)
    if isinstance(admitted, Caller):
        return admitted
    # A short transaction of its own: a request that then waits for its job must not
    # hold a database connection while it waits.
    with transaction() as session:
        caller = authenticate(session, x_api_key)
    apply_rate_limit(request, caller)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_admin(caller: CallerDep) -> Caller:
    caller.require_admin()
    return caller


AdminDep = Annotated[Caller, Depends(get_admin)]
