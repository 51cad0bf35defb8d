"""Refuse user-given URLs that point inside the network (SSRF guard).

A URL is parsed the way the HTTP client (httpx) parses it, its host must be a
DNS name or a canonical IP literal, and every address it resolves to must be
public or allowed by the operator (`QUARRY_OUTBOUND_ALLOWED_HOSTS`, `…_NETWORKS`).
The outbound transport (`shared.net.outbound`) runs the same check on every
connection it opens, so a redirect or a second DNS answer (rebinding) cannot
lead a request elsewhere.

Link-local and cloud metadata addresses stay refused unless an allowed network
names them explicitly: a network inside the link-local range, or the exact
address. A broad entry such as `0.0.0.0/0` or a host name never unlocks them.
An IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64) is
judged by the IPv4 address too.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from shared.errors import BadRequest
from shared.settings import get_settings

if TYPE_CHECKING:  # shared.jobs imports this module; the type is only named
    from shared.jobs.options import SealedModel

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(value) for value in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200",
))
LINK_LOCAL_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"))
# RFC 6052: where a NAT64 prefix of each length puts the IPv4 address (byte offsets).
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_NAT64_LAYOUTS = ((6, 7, 9, 10), (7, 9, 10, 11), (9, 10, 11, 12), (12, 13, 14, 15))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# Not globally reachable, but older Pythons' `is_global` says they are: IANA's IETF protocol
# assignments (192.0.0.0/24, bar the two anycast /32s below) and deprecated IPv6 site-local.
_NOT_GLOBAL = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("fec0::/10"))
_GLOBAL_EXCEPTIONS = frozenset(ipaddress.ip_address(value) for value in ("192.0.0.9", "192.0.0.10"))
# A last label that is a number makes resolvers read the whole host as IPv4 (inet_aton:
# octal, hex, fewer than four parts), which this guard and the client could read differently.
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class UnsafeUrl(BadRequest):
    code = "unsafe_url"
    default_detail = "The URL is not allowed."


class HostUnresolved(Exception):  # noqa: N818 - a fact about the host, like UnsafeUrl
    """The host name has no address (NXDOMAIN, no DNS answer): nothing to refuse, but nothing
    to reach either. Each caller decides: the outbound transport reports a failed connect (so
    a provider is `llm_unreachable`), a URL checked at submission is refused (`vet_url`)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"Host {host!r} does not resolve.")
        self.host = host


@dataclass(frozen=True)
class VettedUrl:
    """A URL whose host resolved only to allowed addresses; connect to `address`."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress


def vet_url(url: str, *, field: str = "url") -> VettedUrl:
    """Parse `url`, resolve its host and check every address; UnsafeUrl (400) names `field`,
    also for a host that does not resolve (a URL the client will use later is checked now)."""
    try:
        return _vet_url(url, field=field)
    except HostUnresolved as exc:
        raise UnsafeUrl(f"{field} host {exc.host!r} does not resolve.") from exc


def _vet_url(url: str, *, field: str) -> VettedUrl:
    parsed = parse_url(url, field=field)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = parsed.raw_host.decode("ascii")
    address = vet_host(host, port, field=field)
    return VettedUrl(url=url, scheme=parsed.scheme, host=host, port=port, address=address)


def parse_url(url: str, *, field: str = "url") -> httpx.URL:
    """`url` as the HTTP client reads it: absolute http(s) with a well-formed host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UnsafeUrl(f"{field} is not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise UnsafeUrl(f"{field} must be an absolute http or https URL.")
    canonical_host(parsed.raw_host.decode("ascii"), field=field)
    return parsed


def canonical_host(host: str, *, field: str = "url") -> str:
    """`host` lower-cased when it is a DNS name or a canonical IP literal; UnsafeUrl otherwise."""
    host = host.lower()
    if ":" in host:  # an IPv6 literal (the URL's brackets are already gone)
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError as exc:
            raise UnsafeUrl(f"{field} has an invalid IPv6 address.") from exc
    name = host.removesuffix(".")
    if _NUMERIC_LABEL.fullmatch(name.rsplit(".", 1)[-1]):
        if _is_canonical_ipv4(host):
            return host
        raise UnsafeUrl(f"{field} host {host!r} is not a canonical IP address (a.b.c.d).")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in name.split(".")):
        raise UnsafeUrl(f"{field} host {host!r} is not a valid host name.")
    return host


def vet_host(host: str, port: int, *, field: str = "url") -> IPAddress:
    """The address to connect to for `host`, after every address it resolves to passed;
    HostUnresolved when it has none."""
    host = canonical_host(host, field=field)
    addresses = resolve(host, port)
    if not addresses:
        raise HostUnresolved(host)
    for address in addresses:
        if not address_allowed(address, host):
            raise UnsafeUrl(
                f"{field} resolves to a private, loopback, link-local or metadata address, "
                "which is not allowed."
            )
    return addresses[0]


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (IP literals resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise HostUnresolved(host) from exc
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


def address_allowed(address: IPAddress, host: str = "") -> bool:
    """Public addresses pass; others only when the operator allows them.

    An IPv6 address that embeds an IPv4 address passes only when that one does too.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _single_address_allowed(address.ipv4_mapped, host)
        if not all(_single_address_allowed(inner, host) for inner in embedded_ipv4(address)):
            return False
    return _single_address_allowed(address, host)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a packet to `address` may end up at (6to4, Teredo, NAT64, compatible)."""
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    packed = address.packed
    layouts = (_NAT64_LAYOUTS[-1:] if address in _NAT64_WELL_KNOWN
               else _NAT64_LAYOUTS if address in _NAT64_LOCAL_USE else ())
    found.extend(ipaddress.IPv4Address(bytes(packed[i] for i in layout)) for layout in layouts)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def allowed_networks() -> list[IPNetwork]:
    networks: list[IPNetwork] = []
    for entry in get_settings().outbound_allowed_networks:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return networks


def _single_address_allowed(address: IPAddress, host: str) -> bool:
    networks = allowed_networks()
    if _is_sensitive(address):
        return any(address in net and _names_explicitly(net) for net in networks)
    if address.is_unspecified or address.is_multicast:
        return False
    # An allowed network comes before `is_reserved`: Python counts ::1 in the reserved ::/8.
    if any(address in net for net in networks):
        return True
    if address.is_reserved:
        return False
    return _is_global(address) or _host_allowed(host)


def _is_global(address: IPAddress) -> bool:
    if address not in _GLOBAL_EXCEPTIONS and any(
            address.version == net.version and address in net for net in _NOT_GLOBAL):
        return False
    return address.is_global


def _is_canonical_ipv4(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


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


def vet_model_endpoints(sections: Mapping[str, SealedModel]) -> None:
    """Check the user-given `api_base` of a job's BYOK sections (`JobOptions.model_sections()`:
    `llm`, `ocr`), naming the field (`llm_api_base`) in the 400.

    A name that does not resolve passes: it points nowhere, so nothing is refused; the call to
    the provider then fails as unreachable (502 `llm_unreachable`, where `llm_fallback` applies).
    """
    for name, section in sections.items():
        if section.api_base:
            try:
                _vet_url(section.api_base, field=f"{name}_api_base")
            except HostUnresolved:
                continue
