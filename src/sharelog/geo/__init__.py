"""Viewer geolocation, offline: IP address to country (and region, city with an MMDB file)."""

from sharelog.geo.locator import GeoError, Locator, open_locator, reduce_ip

__all__ = ["GeoError", "Locator", "open_locator", "reduce_ip"]
