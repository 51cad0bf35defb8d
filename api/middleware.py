"""The request edge: request ids, rate-limit headers and metrics; the catch-all that always
answers a complete 500; and the guard that authenticates on headers and caps every body, in
bytes and in time, before the app reads a byte of it."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import render_error
from api.limits import CALLER_STATE, RATE_HEADERS_STATE, apply_rate_limit, has_body, is_heavy
from api.metrics import observe_request
from shared.db.session import transaction
from shared.errors import QuarryError
from shared.idempotency import watch_replays
from shared.limits.effective import upload_ceiling
from shared.logs import request_id_var
from shared.settings import get_settings
from shared.tenants.service import Caller, authenticate

log = logging.getLogger(__name__)

__all__ = ["CALLER_STATE", "EdgeGuard", "RequestContextMiddleware"]
MIB = 1024 * 1024
MULTIPART_OVERHEAD = MIB
MULTIPART_ROUTES = frozenset({"/v1/extract", "/v1/to-markdown", "/v1/training-jobs",
                              "/console/training", "/console/playground"})
SIGNED_UPLOAD_PUT = re.compile(r"^/v1/uploads/[^/]+/content/?$")


class RequestContextMiddleware:
    """Echo or create `X-Request-ID`, add the rate-limit headers (and `Idempotent-Replayed:
    true` when the answer is an earlier call's), count and time the request by route
    template, and turn any exception that escaped the app into a complete 500, so the
    keep-alive connection stays usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:200] or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        with watch_replays() as replayed:
            async def send_with_id(message: Message) -> None:
                nonlocal status, response_started
                if message["type"] == "http.response.start":
                    status, response_started = message["status"], True
                    headers = message.setdefault("headers", [])
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                    rate = scope.get("state", {}).get(RATE_HEADERS_STATE) or {}
                    headers.extend((k.lower().encode(), v.encode()) for k, v in rate.items())
                    if replayed and status < 300:
                        headers.append((b"idempotent-replayed", b"true"))
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if response_started:  # nothing sane left to send; the server ends the connection
                    log.exception("error after the response started", exc_info=exc)
                else:
                    await render_error(exc)(scope, receive, send_with_id)
            finally:
                request_id_var.reset(token)
                observe_request(scope, status, time.perf_counter() - started)


class BodyTooLarge(HTTPException):
    """Raised from `receive()` once a body passes its cap; rendered as 413 by the handlers.
    An HTTPException, because FastAPI's body parsing turns any other error into a 400."""

    def __init__(self, limit: int, *, is_file: bool) -> None:
        what = "File exceeds the upload size limit" if is_file else \
            "Request body exceeds the size limit"
        # The rest of the body is never read: the connection cannot carry another request.
        super().__init__(413, f"{what} of {limit / MIB:g} MiB.", headers={"Connection": "close"})


class BodyTimeout(HTTPException):
    """Raised from `receive()` when the body does not arrive in time; rendered as 408."""

    def __init__(self) -> None:
        super().__init__(408, "The request body was not received in time.",
                         headers={"Connection": "close"})


@dataclass(frozen=True)
class BodyCap:
    """The most bytes a route's body may carry, and what the 413 says about it."""

    limit: int
    shown_limit: int
    is_file: bool

    def too_large(self) -> BodyTooLarge:
        return BodyTooLarge(self.shown_limit, is_file=self.is_file)


def body_cap(method: str, path: str, max_upload: int | None = None) -> BodyCap:
    """Files: the upload limit (plus the multipart envelope), the caller's plan's once the key
    is known, before that the largest any plan allows. Everything else is JSON or no body at
    all; batches, with up to 10,000 items, get a larger JSON cap."""
    settings = get_settings()
    route = path.rstrip("/")
    max_upload = upload_ceiling() if max_upload is None else max_upload
    if method == "PUT" and SIGNED_UPLOAD_PUT.match(path):
        return BodyCap(max_upload, max_upload, True)
    if method == "POST" and route in MULTIPART_ROUTES:
        return BodyCap(max_upload + MULTIPART_OVERHEAD, max_upload, True)
    if method == "POST" and route == "/v1/batches":
        return BodyCap(settings.max_batch_body_bytes, settings.max_batch_body_bytes, False)
    return BodyCap(settings.max_json_body_bytes, settings.max_json_body_bytes, False)


def needs_api_key(method: str, path: str) -> bool:
    """Every `/v1` route but the signed upload PUT, which carries its own signature."""
    if not path.startswith("/v1/"):
        return False
    return not (method == "PUT" and SIGNED_UPLOAD_PUT.match(path))


class EdgeGuard:
    """Before the app reads the body: refuse a declared length over the route's cap,
    authenticate the key from the headers and take its rate-limit token (the caller is kept
    in the scope for `api.deps.get_caller`), then count the bytes actually received, chunked
    bodies included, and stop at the cap or when the body is late (408): a stalled upload
    gives its place back. 401, 429 and 413 never wait for the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = body_cap(scope["method"], scope["path"])
        try:
            _check_declared_length(scope, cap)
            if needs_api_key(scope["method"], scope["path"]):
                caller = await run_in_threadpool(_admit, Request(scope))
                cap = body_cap(scope["method"], scope["path"], caller.limits.max_upload_bytes)
                _check_declared_length(scope, cap)
            elif is_heavy(scope["method"], scope["path"]):  # the console's upload form
                console_caller = await run_in_threadpool(_admit_console, Request(scope))
                if console_caller is None:
                    # No live session: back to the sign-in form before a byte of the upload
                    # is read, as `/v1/extract` answers 401 without a key.
                    to_sign_in = RedirectResponse("/console/sign-in", status_code=303,
                                                  headers={"Connection": "close"})
                    await to_sign_in(scope, receive, send)
                    return
                cap = body_cap(scope["method"], scope["path"],
                               console_caller.limits.max_upload_bytes)
                _check_declared_length(scope, cap)
        except Exception as exc:
            response = _edge_refusal(scope, exc)
            if has_body(scope):
                response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        await self.app(scope, _guarded_body(receive, cap), send)


def _edge_refusal(scope: Scope, exc: Exception) -> Response:
    """The API's JSON error body; on the console's own forms, the console's page for it."""
    if isinstance(exc, (QuarryError, HTTPException)) and scope["path"].startswith("/console/"):
        # Imported here: the console's package imports the routers, which import this module.
        from api.console.render import edge_error_page

        return edge_error_page(Request(scope), exc)
    return render_error(exc)


def _check_declared_length(scope: Scope, cap: BodyCap) -> None:
    length = dict(scope["headers"]).get(b"content-length", b"")
    if length.isdigit() and int(length) > cap.limit:
        raise cap.too_large()


def _admit(request: Request) -> Caller:
    """Who is calling, from the `X-API-KEY` header alone; then their rate-limit token."""
    with transaction() as session:
        caller: Caller = authenticate(session, request.headers.get("x-api-key"))
    apply_rate_limit(request, caller)
    request.scope.setdefault("state", {})[CALLER_STATE] = caller
    return caller


def _admit_console(request: Request) -> Caller | None:
    # Imported here: the console's package imports the routers, which import this module.
    from api.console.upload_guard import admit_console_upload

    return admit_console_upload(request)


def _guarded_body(receive: Receive, cap: BodyCap) -> Receive:
    """`receive`, stopped at the cap and at the body's deadline: `body_timeout_s` from now plus
    a second per `body_min_bytes_per_s` received, so a stalled or trickled body ends while a
    slow, steady upload goes on. Once the body is complete, waiting for a disconnect is the
    app's business and has no deadline."""
    settings = get_settings()
    started = time.monotonic()
    received, complete = 0, False

    async def receive_within_limits() -> Message:
        nonlocal received, complete
        if complete:
            return await receive()
        allowed = settings.body_timeout_s + received / settings.body_min_bytes_per_s
        try:
            async with asyncio.timeout(max(0.0, started + allowed - time.monotonic())):
                message = await receive()
        except TimeoutError:
            raise BodyTimeout() from None
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > cap.limit:
                raise cap.too_large()
            complete = not message.get("more_body", False)
        return message

    return receive_within_limits
