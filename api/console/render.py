"""Rendering console pages: the templates, the headers every page carries, and the one place
console errors become HTML (the API's `api/errors.py` answers JSON; here the same errors are
shown on the page where they happened, with the same status)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from api.console.session import clear_session
from api.errors import DEPENDENCY_DOWN
from shared.errors import QuarryError, Unauthorized

log = logging.getLogger(__name__)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)

# No inline script or style anywhere, so the policy can forbid both; pages are never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Pages show balances and, once, a new key's secret: never kept by a cache.
    "Cache-Control": "no-store",
}


class NotSignedIn(Unauthorized):
    """No valid console session: pages send the browser to the sign-in form."""


def page(request: Request, template: str, context: dict[str, Any] | None = None,
         status_code: int = 200) -> Response:
    response = TEMPLATES.TemplateResponse(request, template, context or {},
                                          status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotSignedIn):
        # A stale cookie (expired, or its key revoked) goes too, or the sign-in page would
        # still read it as a session and send the browser back here.
        response = redirect("/console/sign-in")
        clear_session(request, response)
        return response
    if isinstance(exc, RequestValidationError):
        fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
        return page(request, "error.html", {"status": 400, "detail": f"Check these fields: {fields}."},
                    status_code=400)
    if isinstance(exc, QuarryError):
        response = page(request, "error.html", {"status": exc.status_code, "detail": exc.detail},
                        status_code=exc.status_code)
        if exc.status_code in (429, 503):  # when to try again, as the API's answers say
            response.headers["Retry-After"] = str(max(1, int(getattr(exc, "retry_after_s", 1))))
        return response
    if isinstance(exc, DEPENDENCY_DOWN):
        log.warning("dependency unavailable: %s", type(exc).__name__)
        return page(request, "error.html", {"status": 503, "detail": "A backing service is "
                                            "unavailable, retry shortly."}, status_code=503)
    raise exc


def edge_error_page(request: Request, exc: QuarryError | HTTPException) -> Response:
    """A refusal made before a console route's own code ran (the edge's 413 upload size and
    429 rate, a body cut off at its cap or too slow: 413, 408): as a page, or as the alert an
    htmx form swaps in where it was sent. The API's status and words, the console's look."""
    status = exc.status_code
    detail = exc.detail if isinstance(exc, QuarryError) else str(exc.detail)
    template = "_alert.html" if request.headers.get("hx-request") == "true" else "error.html"
    response = page(request, template, {"status": status, "detail": detail}, status_code=status)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    if status in (429, 503):  # when to try again, as the API's answers say
        response.headers["Retry-After"] = str(max(1, int(getattr(exc, "retry_after_s", 1))))
    return response


class ConsoleRoute(APIRoute):
    """Routes whose errors render as console pages instead of JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except (QuarryError, RequestValidationError, *DEPENDENCY_DOWN) as exc:
                return error_page(request, exc)
            except HTTPException as exc:
                if exc.status_code not in (408, 413):  # a body cut off at its cap, or late
                    raise
                return edge_error_page(request, exc)

        return handle
