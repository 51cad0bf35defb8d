"""Every HTTP request to a user-given URL goes through `GuardedTransport`.

The transport checks each request's host with the SSRF guard (`vet_host`) and
opens each connection itself: it resolves the host once, checks every address
and connects to the vetted IP, while the request keeps its original `Host`
header and TLS server name. Each
redirect hop is a new request through the same transport, so it is vetted too,
and a DNS answer that changes between a check and a connect (rebinding) is never
used. A host with no address fails like a refused connection (httpx.ConnectError), not as
UnsafeUrl: nothing was refused, the peer is unreachable. Webhooks, the LLM provider client
and vision OCR all use it.

Each request also has a total deadline (`total_timeout_s`, or an enclosing `deadline()`):
httpx's timeouts bound each read, so a peer trickling a byte at a time would never trip
them; every connect, write and read of the request — headers and body — gets only the time
left, and one past the deadline raises httpx's timeout error.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from shared.net.ssrf import HostUnresolved, UnsafeUrl, parse_url, vet_host

RESPONSE_EXCERPT_BYTES = 1024
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_trusted_hosts: ContextVar[frozenset[str]] = ContextVar("trusted_hosts", default=frozenset())
_deadline: ContextVar[float | None] = ContextVar("outbound_deadline", default=None)


@contextmanager
def trusting_host_of(url: str | None) -> Iterator[None]:
    """Within this block, requests to `url`'s own host skip the guard (a redirect elsewhere
    does not). For endpoints the operator configured (the server's model), never user input."""
    if not url:
        yield
        return
    token = _trusted_hosts.set(_trusted_hosts.get() | {httpx.URL(url).raw_host.decode().lower()})
    try:
        yield
    finally:
        _trusted_hosts.reset(token)


def _is_trusted(host: str) -> bool:
    return host.lower() in _trusted_hosts.get()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Every outbound request made within this block ends by `seconds` from now (an enclosing
    deadline that ends sooner still holds)."""
    token = _deadline.set(_sooner(_deadline.get(), seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def _sooner(current: float | None, seconds: float | None) -> float | None:
    if seconds is None:
        return current
    ends = time.monotonic() + seconds
    return ends if current is None else min(current, ends)


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """The operation's own timeout, cut to what is left of the request's deadline."""
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise expired("The request's total time limit passed.")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the current request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BodyWithinDeadline(httpx.SyncByteStream):
    """A response body read under the deadline its request started with."""

    def __init__(self, stream: httpx.SyncByteStream, ends: float) -> None:
        self._stream, self._ends = stream, ends

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            token = _deadline.set(self._ends)
            try:
                chunk = next(chunks, None)
            finally:
                _deadline.reset(token)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._stream.close()


class VettingBackend(httpcore.NetworkBackend):
    """A network backend that connects only to addresses the SSRF guard allows."""

    def __init__(self, field: str) -> None:
        self._field = field
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        if not _is_trusted(host):
            try:
                host = str(vet_host(host, port, field=self._field))
            except HostUnresolved as exc:  # unreachable, not refused: callers retry or report it
                raise httpcore.ConnectError(str(exc)) from exc
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        raise UnsafeUrl(f"{self._field} may not name a Unix socket.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport: each request's host is checked, and each connection is opened by
    `VettingBackend` to a vetted address. Never uses proxies from the environment. A request
    (its response body included) ends by `total_timeout_s`, or an enclosing `deadline()`.

    The connection pool is keyed by host name, so TLS is verified against the name asked for.
    """

    def __init__(self, *, field: str = "URL", limits: httpx.Limits = DEFAULT_LIMITS,
                 total_timeout_s: float | None = None) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx has no parameter for the network backend: its pool is rebuilt with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=VettingBackend(field),
        )
        self._field = field
        self._total_timeout_s = total_timeout_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A pooled connection is reused without a new connect: the request is checked as well.
        host, port = request.url.raw_host.decode("ascii"), request.url.port
        if not _is_trusted(host):
            try:
                vet_host(host, port or (443 if request.url.scheme == "https" else 80),
                         field=self._field)
            except HostUnresolved as exc:  # a failed connect, as httpx reports one without us
                raise httpx.ConnectError(str(exc), request=request) from exc
        with deadline(self._total_timeout_s):
            ends = _deadline.get()
            response = super().handle_request(request)
        if ends is not None:
            stream = response.stream
            assert isinstance(stream, httpx.SyncByteStream)
            response.stream = _BodyWithinDeadline(stream, ends)
        return response


def outbound_client(*, field: str = "URL", timeout_s: float | None = None,
                    follow_redirects: bool = False) -> httpx.Client:
    """The one factory for clients that call user-given URLs (UnsafeUrl names `field`);
    `timeout_s` bounds each request in total as well as each read."""
    transport = GuardedTransport(field=field, total_timeout_s=timeout_s)
    return httpx.Client(transport=transport, timeout=timeout_s,
                        follow_redirects=follow_redirects, trust_env=False)


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    excerpt: str


def post_pinned(url: str, *, content: bytes, headers: dict[str, str],
                timeout_s: float) -> OutboundResponse:
    """POST `content` to `url` via its vetted address; redirects are not followed. The whole
    exchange, the excerpt read included, ends by `timeout_s` (httpx.TimeoutException)."""
    parse_url(url, field="webhook_url")
    with (outbound_client(field="webhook_url", timeout_s=timeout_s) as client,
          client.stream("POST", url, content=content, headers=headers) as response):
        excerpt = _read_excerpt(response)
    return OutboundResponse(status_code=response.status_code, excerpt=excerpt)


def _read_excerpt(response: httpx.Response) -> str:
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= RESPONSE_EXCERPT_BYTES:
            break
    return received[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
