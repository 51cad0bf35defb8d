"""The edge's check for the console's upload form (`POST /console/playground`), before its
body is read: what `api.middleware.EdgeGuard` does with `X-API-KEY` on `/v1/extract`, with
the key sealed in the session cookie instead.

The key is authenticated and the heavy rate-limit token taken (the path is in
`api.limits.HEAVY_ROUTES`); the caller is kept in the scope, so `HeavyInflightCap` counts
the upload among the tenant's heavy requests in flight and the sync wait among its waits.
Without a live session nothing is counted against a tenant: the route sends the browser to
sign in, and such uploads share the anonymous in-flight places (`""`) under the size cap.
"""

from __future__ import annotations

from starlette.requests import Request

from api.console.session import read_session
from api.limits import CALLER_STATE, apply_rate_limit
from shared.db.session import transaction
from shared.errors import Unauthorized
from shared.tenants.service import Caller, authenticate

CONSOLE_UPLOAD_ROUTES = frozenset({"/console/playground"})


def is_console_upload(method: str, path: str) -> bool:
    return method == "POST" and path.rstrip("/") in CONSOLE_UPLOAD_ROUTES


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
