"""The console's session cookie and CSRF tokens.

The cookie holds the API key the user signed in with, sealed with the server key
(`shared.sealing`), an expiry, the session's own CSRF token and the session's id. The id must
be live in Redis (`api.console.live_sessions`) on every request, so signing out ends the
session server-side: a copy of the cookie stops working too. Keeping the key (sealed, never
shown) rather than a copy of what it allowed means every console request authenticates
through `shared.tenants.service.authenticate`, exactly as the API does: revoking the key
ends its console sessions at once, and a tenant's rate limits apply to the console too.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from api.console.live_sessions import forget, is_live, new_session_id, remember
from shared.sealing import seal, unseal
from shared.settings import get_settings

SESSION_COOKIE = "quarry_console"
# Before sign-in there is no session to hold a CSRF token: the sign-in form is protected by
# a double-submit token in a cookie of its own (so another site cannot sign a browser in
# with the attacker's key).
SIGN_IN_COOKIE = "quarry_console_signin"
COOKIE_PATH = "/console"
PURPOSE = "quarry-console-session"
SIGN_IN_PURPOSE = "quarry-console-sign-in:"
SIGN_IN_TTL_S = 3600


@dataclass(frozen=True)
class ConsoleSession:
    api_key: str
    csrf_token: str
    expires_at: float
    session_id: str

    def valid_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, token or "")


def new_session(api_key: str) -> ConsoleSession:
    ttl = get_settings().console_session_ttl_s
    return ConsoleSession(api_key=api_key, csrf_token=secrets.token_urlsafe(32),
                          expires_at=time.time() + ttl, session_id=new_session_id())


def read_session(request: Request) -> ConsoleSession | None:
    """The cookie's session, or None when it is missing, forged, sealed under another server
    key, made for something else, expired, or ended (signed out)."""
    sealed = request.cookies.get(SESSION_COOKIE)
    plain = unseal(sealed) if sealed else None
    if plain is None:
        return None
    try:
        values = json.loads(plain)
        if values.get("purpose") != PURPOSE:
            return None
        session = ConsoleSession(api_key=str(values["key"]), csrf_token=str(values["csrf"]),
                                 expires_at=float(values["exp"]), session_id=str(values["sid"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if session.expires_at <= time.time() or not is_live(session.session_id):
        return None
    return session


def _secure(request: Request) -> bool:
    # Secure whenever the console is reached over https (directly or as the public URL says).
    return request.url.scheme == "https" or get_settings().public_base_url.startswith("https:")


def _set(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))


def _clear(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=_secure(request))


def store_session(request: Request, response: Response, session: ConsoleSession) -> None:
    """Start the session (live server-side for as long as its cookie); the sign-in form's own
    token is spent."""
    ttl = get_settings().console_session_ttl_s
    replaced = read_session(request)
    if replaced is not None:  # signing in again in this browser ends the session it had
        forget(replaced.session_id)
    payload = json.dumps({"purpose": PURPOSE, "key": session.api_key, "csrf": session.csrf_token,
                          "exp": session.expires_at, "sid": session.session_id})
    remember(session.session_id, ttl)
    _set(request, response, SESSION_COOKIE, seal(payload), ttl)
    _clear(request, response, SIGN_IN_COOKIE)


def end_session(request: Request, response: Response, session: ConsoleSession) -> None:
    """Sign out: the session ends server-side (every copy of its cookie) and in this browser."""
    forget(session.session_id)
    clear_session(request, response)


def clear_session(request: Request, response: Response) -> None:
    _clear(request, response, SESSION_COOKIE)


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the one already in its cookie, or a new one."""
    return _sign_in_cookie(request) or secrets.token_urlsafe(32)


def store_sign_in_token(request: Request, response: Response, token: str) -> None:
    _set(request, response, SIGN_IN_COOKIE, seal(SIGN_IN_PURPOSE + token), SIGN_IN_TTL_S)


def valid_sign_in_token(request: Request, token: str | None) -> bool:
    expected = _sign_in_cookie(request)
    return bool(expected and token) and hmac.compare_digest(expected or "", token or "")


def _sign_in_cookie(request: Request) -> str | None:
    sealed = request.cookies.get(SIGN_IN_COOKIE)
    plain = unseal(sealed) if sealed else None
    if plain is None or not plain.startswith(SIGN_IN_PURPOSE):
        return None
    return plain.removeprefix(SIGN_IN_PURPOSE)
