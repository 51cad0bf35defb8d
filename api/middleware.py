"""Per-request context: request ids, rate-limit headers, metrics, an early 413."""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import RATE_HEADERS_STATE
from api.metrics import observe_request
from shared.logs import request_id_var
from shared.settings import get_settings

MULTIPART_OVERHEAD = 1024 * 1024


class RequestContextMiddleware:
    """Echo or create `X-Request-ID`, add the rate-limit headers, count and time the request
    by route template, and refuse bodies whose declared size is over the limit."""

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

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                rate = scope.get("state", {}).get(RATE_HEADERS_STATE) or {}
                headers.extend((k.lower().encode(), v.encode()) for k, v in rate.items())
            await send(message)

        try:
            if _declared_too_large(headers):
                await _send_413(send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            observe_request(scope, status, time.perf_counter() - started)


def _declared_too_large(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length", b"")
    limit = get_settings().max_upload_bytes + MULTIPART_OVERHEAD
    return length.isdigit() and int(length) > limit


async def _send_413(send: Send) -> None:
    limit_mib = get_settings().max_upload_bytes / (1024 * 1024)
    body = (
        f'{{"detail": "File exceeds the upload size limit of {limit_mib:g} MiB.", '
        '"code": "payload_too_large"}'
    ).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
