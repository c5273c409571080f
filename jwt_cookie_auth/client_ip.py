"""The client's IP address, behind any number of reverse proxies.

Each proxy appends the address of its peer to ``X-Forwarded-For`` (or RFC 7239
``Forwarded``), so the list reads ``client-written…, seen by proxy 1, …, seen by
proxy N-1`` and ``REMOTE_ADDR`` is proxy N. Everything left of what the outermost
proxy saw is written by the client, and trusting it lets anyone pick a new address
per request (evading the login throttle, forging what the sessions list shows). So
the client is found from the right, the standard way:

- ``NUM_PROXIES = N`` (as DRF's setting of that name): the N-th address from the
  right, counting ``REMOTE_ADDR``; with fewer entries, the left-most there is.
- ``TRUSTED_PROXIES = [CIDR, …]``: the right-most address that is not in a trusted
  network. A peer that is not trusted is the client, whatever its headers say.
- Neither: one proxy is assumed (the right-most entry) and check W090 says so.

Only a plain IP address is returned: no scope id (``fe80::1%eth0`` is accepted by
``ipaddress`` but not by PostgreSQL's ``inet``), nothing longer than 45 characters,
no garbage; IPv4-mapped IPv6 is the IPv4 address. Anything else gives None, never a
neighbouring entry (that would be a guess) and never an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.http import HttpRequest

from jwt_cookie_auth.conf import app_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The longest text form of an IP address (IPv4-mapped IPv6); anything longer is
#: refused before it is parsed.
MAX_ADDRESS_LENGTH = 45
FORWARDED_META_KEY = "HTTP_FORWARDED"


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's IP address as text, or None when it cannot be known.

    Reads ``CLIENT_IP_HEADER`` (a ``request.META`` key) only as far as
    ``NUM_PROXIES`` or ``TRUSTED_PROXIES`` allow, else ``REMOTE_ADDR``.
    """
    address = client_address(request.META)
    return None if address is None else str(address)


def client_address(meta: Mapping[str, Any]) -> IPAddress | None:
    """Return the client's address from a WSGI/ASGI ``META`` mapping, or None."""
    remote_addr = meta.get("REMOTE_ADDR")
    peer = parse_address(remote_addr)
    header = app_settings.CLIENT_IP_HEADER
    if not header or header == "REMOTE_ADDR":
        return peer
    # The hops, nearest last: each entry was written by the hop to its right, and
    # REMOTE_ADDR by the socket. None stands for an entry that is not an address.
    entries = forwarded_entries(header, meta.get(header))
    networks = trusted_networks(app_settings.TRUSTED_PROXIES)
    if networks is not None:
        # An empty REMOTE_ADDR is a unix socket: only a process on this host (the
        # proxy) can connect to it, so its entries are as good as a trusted peer's.
        hops = entries if not remote_addr else [*entries, peer]
        return _first_untrusted(hops, networks)
    hops = [*entries, peer]
    return hops[-min(proxy_count(app_settings.NUM_PROXIES) + 1, len(hops))]


def _first_untrusted(
    hops: list[IPAddress | None], networks: tuple[IPNetwork, ...]
) -> IPAddress | None:
    """The right-most hop that is not a trusted proxy; the left-most if all are."""
    for position in range(len(hops) - 1, -1, -1):
        address = hops[position]
        if address is None or position == 0 or not _is_trusted(address, networks):
            return address
    return None


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def forwarded_entries(header: str, value: Any) -> list[IPAddress | None]:
    """Split a forwarding header into addresses, left to right (None for junk)."""
    if not isinstance(value, str) or not value.strip():
        return []
    elements = value.split(",")
    if header == FORWARDED_META_KEY:
        return [parse_address(_forwarded_for(element)) for element in elements]
    return [parse_address(element) for element in elements]


def _forwarded_for(element: str) -> str | None:
    """The ``for=`` node of one RFC 7239 ``Forwarded`` element, unquoted."""
    for pair in element.split(";"):
        name, _, node = pair.strip().partition("=")
        if name.strip().lower() == "for":
            return node.strip().strip('"')
    return None


def parse_address(value: Any) -> IPAddress | None:
    """Return a plain IP address from ``value``, or None.

    Accepts an address, ``[IPv6]``, ``[IPv6]:port`` and ``IPv4:port`` (proxies and RFC
    7239 add ports); refuses scope ids, padding, non-ASCII and anything too long.
    """
    if not isinstance(value, str) or len(value) > MAX_ADDRESS_LENGTH + len(" []:65535 "):
        return None
    text = _strip_port(value.strip(" \t"))
    if not text or len(text) > MAX_ADDRESS_LENGTH or not text.isascii() or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _strip_port(text: str) -> str | None:
    """``[v6]:port`` and ``[v6]`` give v6, ``v4:port`` gives v4; a bad port gives None."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _is_port(rest[1:]))):
            return None
        return host
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host if _is_port(port) else None
    return text


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5


def proxy_count(value: Any) -> int:
    """``NUM_PROXIES`` as a count; unset or unusable (check E090) means one proxy."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 1


def trusted_networks(value: Any) -> tuple[IPNetwork, ...] | None:
    """``TRUSTED_PROXIES`` parsed, or None when unset; unusable entries are skipped.

    Skipping trusts less, so the worst outcome is the proxy's own address (one shared
    throttle bucket), never a client-written one. Check E091 reports the entries.
    """
    if not value:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return ()
    return _parse_networks(tuple(str(spec) for spec in value))


@lru_cache(maxsize=16)
def _parse_networks(specs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(network for network in map(parse_network, specs) if network is not None)


def parse_network(spec: str) -> IPNetwork | None:
    """Return the network of a CIDR (or single address) string, or None."""
    if "%" in spec:
        return None
    try:
        return ipaddress.ip_network(spec.strip(), strict=False)
    except ValueError:
        return None


def invalid_networks(value: Any) -> Iterable[str]:
    """The entries of a ``TRUSTED_PROXIES`` value that are not networks (for check E091)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        yield repr(value)
        return
    for spec in value:
        if not isinstance(spec, str) or parse_network(spec) is None:
            yield repr(spec)
