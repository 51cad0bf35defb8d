"""Refuse user-given URLs that point inside the network (SSRF guard).

A URL is resolved once and every address it resolves to must be public, or
allowed by the operator (`QUARRY_OUTBOUND_ALLOWED_HOSTS`, `…_NETWORKS`). The
caller then connects to the vetted address itself (see `shared.net.outbound`),
so a second DNS answer (rebinding) cannot redirect the request.

Link-local and cloud metadata addresses stay refused unless an allowed network
names them explicitly: a network inside the link-local range, or the exact
address. A broad entry such as `0.0.0.0/0` or a host name never unlocks them.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import BadRequest
from shared.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(value) for value in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200",
))
LINK_LOCAL_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))


class UnsafeUrl(BadRequest):
    code = "unsafe_url"
    default_detail = "The URL is not allowed."


@dataclass(frozen=True)
class VettedUrl:
    """A URL whose host resolved only to allowed addresses; connect to `address`."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress


def vet_url(url: str, *, field: str = "url") -> VettedUrl:
    """Resolve `url` and check every address; UnsafeUrl (400) names `field` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(f"{field} must be an absolute http or https URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"{field} has an invalid port.") from exc
    host = parts.hostname.lower()
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeUrl(f"{field} host {host!r} does not resolve.")
    for address in addresses:
        if not address_allowed(address, host):
            raise UnsafeUrl(
                f"{field} resolves to a private, loopback, link-local or metadata address, "
                "which is not allowed."
            )
    return VettedUrl(url=url, scheme=parts.scheme, host=host, port=port, address=addresses[0])


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (IP literals resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl(f"Host {host!r} does not resolve.") from exc
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


def address_allowed(address: IPAddress, host: str = "") -> bool:
    """Public addresses pass; others only when the operator allows them."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    networks = allowed_networks()
    if _is_sensitive(address):
        return any(address in net and _names_explicitly(net) for net in networks)
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return False
    if address.is_global:
        return True
    return _host_allowed(host) or any(address in net for net in networks)


def allowed_networks() -> list[IPNetwork]:
    networks: list[IPNetwork] = []
    for entry in get_settings().outbound_allowed_networks:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


def _is_sensitive(address: IPAddress) -> bool:
    return address in METADATA_ADDRESSES or address.is_link_local


def _names_explicitly(network: IPNetwork) -> bool:
    if network.prefixlen == network.max_prefixlen:
        return True
    return any(network.version == ll.version and network.subnet_of(ll)  # type: ignore[arg-type]
               for ll in LINK_LOCAL_NETWORKS)


def _host_allowed(host: str) -> bool:
    for entry in get_settings().outbound_allowed_hosts:
        entry = entry.lower()
        if host == entry or (entry.startswith(".") and host.endswith(entry)):
            return True
    return False


def vet_model_endpoints(options: dict[str, Any]) -> None:
    """Check the user-given `api_base` of a job's BYOK `llm`/`ocr` sections."""
    for name in ("llm", "ocr"):
        section = options.get(name)
        if isinstance(section, dict) and section.get("api_base"):
            vet_url(str(section["api_base"]), field=f"{name}_api_base")
