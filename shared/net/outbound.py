"""HTTP requests to user-given URLs, connected to the address the SSRF guard vetted.

The URL's host is resolved and checked once (`vet_url`); the request then goes to
that IP with the original `Host` header and TLS server name, so a DNS answer that
changes between the check and the connect (rebinding) is never used.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shared.net.ssrf import vet_url

RESPONSE_EXCERPT_BYTES = 1024


@dataclass(frozen=True)
class OutboundResponse:
    status_code: int
    excerpt: str


def post_pinned(url: str, *, content: bytes, headers: dict[str, str],
                timeout_s: float) -> OutboundResponse:
    """POST `content` to `url` via its vetted address; redirects are not followed."""
    vetted = vet_url(url, field="webhook_url")
    request_url = httpx.URL(url)
    pinned = request_url.copy_with(host=str(vetted.address))
    extensions = {"sni_hostname": vetted.host} if vetted.scheme == "https" else {}
    send_headers = {**headers, "Host": request_url.netloc.decode("ascii")}
    with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        request = client.build_request("POST", pinned, content=content, headers=send_headers,
                                       extensions=extensions)
        response = client.send(request, stream=True)
        try:
            excerpt = _read_excerpt(response)
        finally:
            response.close()
    return OutboundResponse(status_code=response.status_code, excerpt=excerpt)


def _read_excerpt(response: httpx.Response) -> str:
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= RESPONSE_EXCERPT_BYTES:
            break
    return received[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace")
