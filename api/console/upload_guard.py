"""The edge's check for the console's upload forms (`POST /console/playground`, `POST
/console/training`), before their
body is read: what `api.middleware.EdgeGuard` does with `X-API-KEY` on `/v1/extract`, with
the key sealed in the session cookie instead.

The key is authenticated and the heavy rate-limit token taken (the path is in
`api.limits.HEAVY_ROUTES`); the caller is kept in the scope, so `HeavyInflightCap` counts
the upload among the tenant's heavy requests in flight and the sync wait among its waits.
Without a live session the edge sends the browser to sign in before the body is read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from api.console.render import NotSignedIn
from api.console.routes import SignedIn
from api.console.session import read_session
from api.limits import CALLER_STATE, apply_rate_limit
from shared.db.session import transaction
from shared.errors import Unauthorized
from shared.tenants.service import Caller, authenticate


def admit_console_upload(request: Request) -> Caller | None:
    """The session's caller, counted and kept in the scope; None without a live session."""
    session = read_session(request)
    if session is None:
        return None
    try:
        with transaction() as db:
            caller = authenticate(db, session.api_key)
    except Unauthorized:
        return None
    apply_rate_limit(request, caller)
    request.scope.setdefault("state", {})[CALLER_STATE] = caller
    return caller


def admitted(request: Request) -> SignedIn:
    """The caller the edge authenticated from the session cookie, and already counted: a
    second rate-limit token is not taken here (`signed_in` would take one)."""
    caller = request.scope.get("state", {}).get(CALLER_STATE)
    session = read_session(request)
    if caller is None or session is None:
        raise NotSignedIn()
    return SignedIn(caller=caller, session=session)


AdmittedDep = Annotated[SignedIn, Depends(admitted)]
