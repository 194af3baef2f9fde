"""Turn IP addresses into locations with no network, ever.

The default is the ``iptocc`` package (country only, data embedded in the
wheel). ``SHARELOG_GEOIP_DB`` names a city-level MMDB file instead
(GeoLite2-City, DB-IP City Lite or IPinfo layouts), read with ``maxminddb``.
Addresses that are not globally routable (private, loopback, link-local,
reserved, documentation) are always unknown.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import iptocc

from sharelog.domain import UNKNOWN, Location


class GeoError(RuntimeError):
    """The configured geolocation database cannot be used."""


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, with an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``) read as IPv4."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _routable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


def reduce_ip(text: str, policy: str) -> str | None:
    """What is stored of an address: nothing, its /24 (IPv4) or /48 (IPv6), or all of it."""
    if policy == "none":
        return None
    ip = parse_ip(text)
    if ip is None:
        return None
    if policy == "full":
        return str(ip)
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


class Locator:
    """Looks up many addresses at once; the same address is looked up once."""

    description = "iptocc (country only, built in)"

    def lookup_many(self, ips: Sequence[str]) -> list[Location]:
        unique = list(dict.fromkeys(ips))
        found = dict(zip(unique, self._resolve(unique), strict=True))
        return [found[ip] for ip in ips]

    def lookup(self, ip: str) -> Location:
        return self.lookup_many([ip])[0]

    def _resolve(self, ips: list[str]) -> list[Location]:
        canonical = {}
        for text in ips:
            ip = parse_ip(text)
            if ip is not None and _routable(ip):
                canonical[text] = str(ip)
        wanted = sorted(set(canonical.values()))
        codes = dict(zip(wanted, iptocc.country_code(wanted), strict=True)) if wanted else {}
        result = []
        for text in ips:
            code = codes.get(canonical.get(text, ""))
            result.append(Location(country=code.upper()) if code else UNKNOWN)
        return result


class MmdbLocator(Locator):
    """City-level lookups from an MMDB file."""

    def __init__(self, path: str) -> None:
        import maxminddb

        try:
            self._reader = maxminddb.open_database(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise GeoError(f"SHARELOG_GEOIP_DB={path!r} cannot be read: {exc}") from exc
        self.description = f"{Path(path).name} ({self._reader.metadata().database_type})"

    def _resolve(self, ips: list[str]) -> list[Location]:
        result = []
        for text in ips:
            ip = parse_ip(text)
            if ip is None or not _routable(ip):
                result.append(UNKNOWN)
                continue
            try:
                record = self._reader.get(str(ip))
            except ValueError:
                record = None
            result.append(location_from_record(record) if isinstance(record, dict) else UNKNOWN)
        return result


def _name(node: Any) -> str | None:
    if isinstance(node, dict):
        names = node.get("names")
        if isinstance(names, dict):
            value = names.get("en") or next(iter(names.values()), None)
            return value if isinstance(value, str) and value else None
    if isinstance(node, str) and node:
        return node
    return None


def location_from_record(record: dict[str, Any]) -> Location:
    """Read the GeoLite2 / DB-IP layout (nested ``names``) or the IPinfo one (flat strings)."""
    country: str | None = None
    country_node = record.get("country")
    if isinstance(country_node, dict):
        country = country_node.get("iso_code")
    elif isinstance(record.get("country_code"), str):
        country = record["country_code"]
    elif isinstance(country_node, str) and len(country_node) == 2:
        country = country_node
    subdivisions = record.get("subdivisions")
    region = _name(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else None
    if region is None:
        region = _name(record.get("region"))
    city = _name(record.get("city"))
    if not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        country = None
    return Location(country=country.upper() if country else None, region=region, city=city)


@lru_cache(maxsize=4)
def open_locator(geoip_db: str = "") -> Locator:
    """The locator for a setting: the built-in country data, or the named MMDB file."""
    if not geoip_db:
        return Locator()
    if not Path(geoip_db).is_file():
        raise GeoError(f"SHARELOG_GEOIP_DB={geoip_db!r}: no such file")
    return MmdbLocator(geoip_db)
