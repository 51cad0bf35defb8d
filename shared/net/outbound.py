"""Every HTTP request to a user-given URL goes through `GuardedTransport`.

The transport checks each request's host with the SSRF guard (`vet_host`) and
opens each connection itself: it resolves the host once, checks every address
and connects to the vetted IP, while the request keeps its original `Host`
header and TLS server name. Each
redirect hop is a new request through the same transport, so it is vetted too,
and a DNS answer that changes between a check and a connect (rebinding) is never
used. Webhooks, the LLM provider client and vision OCR all use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from shared.net.ssrf import UnsafeUrl, parse_url, vet_host

RESPONSE_EXCERPT_BYTES = 1024
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
_trusted_hosts: ContextVar[frozenset[str]] = ContextVar("trusted_hosts", default=frozenset())


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
            host = str(vet_host(host, port, field=self._field))
        return self._backend.connect_tcp(host, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        raise UnsafeUrl(f"{self._field} may not name a Unix socket.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport: each request's host is checked, and each connection is opened by
    `VettingBackend` to a vetted address. Never uses proxies from the environment.

    The connection pool is keyed by host name, so TLS is verified against the name asked for.
    """

    def __init__(self, *, field: str = "URL", limits: httpx.Limits = DEFAULT_LIMITS) -> None:
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

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A pooled connection is reused without a new connect: the request is checked as well.
        host, port = request.url.raw_host.decode("ascii"), request.url.port
        if not _is_trusted(host):
            vet_host(host, port or (443 if request.url.scheme == "https" else 80),
                     field=self._field)
        return super().handle_request(request)


def outbound_client(*, field: str = "URL", timeout_s: float | None = None,
                    follow_redirects: bool = False) -> httpx.Client:
    """The one factory for clients that call user-given URLs (UnsafeUrl names `field`)."""
    return httpx.Client(transport=GuardedTransport(field=field), timeout=timeout_s,
                        follow_redirects=follow_redirects, trust_env=False)


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    excerpt: str


def post_pinned(url: str, *, content: bytes, headers: dict[str, str],
                timeout_s: float) -> OutboundResponse:
    """POST `content` to `url` via its vetted address; redirects are not followed."""
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
