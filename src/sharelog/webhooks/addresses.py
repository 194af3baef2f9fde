"""No way in: which webhook URLs and addresses sharelog will send to.

A URL is checked when it is registered and its host again at every delivery,
and the connection goes to an address that passed the check (see
``transport.py``), so a name that resolves to a public address when it is
registered and to 127.0.0.1 later (DNS rebinding) reaches nothing inside.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

import httpx

MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> the addresses it resolves to, as text; raises OSError when it does not.
Resolver = Callable[[str, int], list[str]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The URL or the address it resolves to is not one sharelog sends to."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # A scoped IPv6 address ("fe80::1%eth0") is link-local whatever its scope.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def refusal(ip: Address) -> str | None:
    """Why this address is refused, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address inside are judged by it as well.
        embedded = [ip.ipv4_mapped, ip.sixtofour]
        if ip.teredo is not None:
            embedded += list(ip.teredo)
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
        for inner in embedded:
            if inner is not None and (reason := refusal(inner)) is not None:
                return reason
        if ip.ipv4_mapped is not None:
            return None
    for reason, test in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (100.64.0.0/10)", isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("not globally routable", not ip.is_global),
    ):
        if test:
            return reason
    return None


def check_addresses(host: str, addresses: list[str]) -> list[str]:
    """All of them public, or AddressRefused naming the first that is not."""
    if not addresses:
        raise AddressRefused(f"{host} resolves to no address")
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text))
        if reason is not None:
            shown = host if host == text else f"{host} resolves to {text}, which"
            raise AddressRefused(f"{shown} is a {reason} address")
    return addresses


def literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int, resolver: Resolver, allow_private: bool) -> list[str]:
    """The addresses to connect to, every one of them checked (unless private ones are allowed)."""
    ip = literal(host)
    if ip is not None:
        addresses = [str(ip)]
    else:
        try:
            addresses = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise AddressRefused(f"{host} does not resolve: {exc}") from None
    return addresses if allow_private else check_addresses(host, addresses)


async def resolve_async(host: str, port: int, resolver: Resolver, allow_private: bool) -> list[str]:
    if literal(host) is not None:
        return resolve(host, port, resolver, allow_private)
    return await asyncio.to_thread(resolve, host, port, resolver, allow_private)


def parse_url(url: object) -> httpx.URL:
    """A well-formed http(s) URL without credentials; AddressRefused (with why) otherwise."""
    if not isinstance(url, str):
        raise AddressRefused("must be a string")
    if not 1 <= len(url) <= MAX_URL_LENGTH:
        raise AddressRefused(f"must be 1 to {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise AddressRefused("must not contain whitespace or control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise AddressRefused(f"not a URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise AddressRefused("must be an http or https URL")
    if not parsed.host:
        raise AddressRefused("has no host")
    if parsed.userinfo or "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        raise AddressRefused("must not contain a user name or password")
    return parsed


def host_and_port(parsed: httpx.URL) -> tuple[str, int]:
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return parsed.raw_host.decode("ascii"), port


def check_url(url: object, resolver: Resolver, allow_private: bool) -> str:
    """The URL as given, when sharelog may send to it; AddressRefused otherwise."""
    parsed = parse_url(url)
    host, port = host_and_port(parsed)
    resolve(host, port, resolver, allow_private)
    assert isinstance(url, str)
    return url
