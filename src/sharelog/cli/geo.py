"""``sharelog geo lookup``: what the configured geolocation data says of addresses."""

from __future__ import annotations

import typer
from rich.table import Table

from sharelog.cli.context import console, fail, settings
from sharelog.geo import GeoError, open_locator
from sharelog.geo.locator import parse_ip

geo_app = typer.Typer(help="Viewer geolocation.", no_args_is_help=True)


@geo_app.command("lookup")
def lookup(
    ips: list[str] = typer.Argument(..., help="IPv4 or IPv6 addresses."),
    geoip_db: str | None = typer.Option(
        None,
        "--geoip-db",
        help="An MMDB file (else SHARELOG_GEOIP_DB, else built-in country data).",
    ),
) -> None:
    """Print the country, region and city each address resolves to."""
    config = settings(geoip_db=geoip_db)
    try:
        locator = open_locator(config.geoip_db)
    except GeoError as exc:
        fail(str(exc))
    bad = [ip for ip in ips if parse_ip(ip) is None]
    if bad:
        fail(f"not an IP address: {bad[0]!r}")
    table = Table("ip", "country", "region", "city", title=f"geolocation: {locator.description}")
    for ip, location in zip(ips, locator.lookup_many(ips), strict=True):
        table.add_row(ip, location.country or "-", location.region or "-", location.city or "-")
    console.print(table)
