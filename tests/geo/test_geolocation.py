"""Offline geolocation: built-in countries, city-level MMDB files, and what is kept of an IP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from sharelog.api import create_app
from sharelog.cli.main import app as cli
from sharelog.config import Settings
from sharelog.domain import UNKNOWN, Location
from sharelog.geo import GeoError, open_locator, reduce_ip
from sharelog.geo.locator import Locator, MmdbLocator
from sharelog.store.database import Database
from tests.conftest import Api, make_tenant, session_body


def write_mmdb(path: Path, records: dict[str, dict[str, Any]], *, ip_version: int = 6) -> Path:
    writer = MMDBWriter(
        ip_version=ip_version, database_type="Test-City", ipv4_compatible=ip_version == 6
    )
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path


GEOLITE_LAYOUT = {
    "130.208.0.0/16": {
        "country": {"iso_code": "IS", "names": {"en": "Iceland"}},
        "subdivisions": [{"iso_code": "1", "names": {"en": "Capital Region"}}],
        "city": {"names": {"en": "Reykjavik", "de": "Reykjavik"}},
    },
    "2a00:1450::/32": {"country": {"iso_code": "DE"}, "city": {"names": {"en": "Berlin"}}},
}
IPINFO_LAYOUT = {
    "8.8.8.0/24": {
        "country_code": "US",
        "country": "United States",
        "region": "California",
        "city": "Mountain View",
    },
}


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        ("8.8.8.8", "US"),
        ("130.208.1.1", "IS"),
        ("2001:4860:4860::8888", "US"),
        ("::ffff:130.208.1.1", "IS"),
    ],
)
def test_builtin_data_gives_countries(ip: str, country: str) -> None:
    assert Locator().lookup(ip) == Location(country=country)


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "127.0.0.1",
        "169.254.1.1",
        "203.0.113.7",
        "198.51.100.1",
        "192.0.2.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "2001:db8::1",
        "0.0.0.0",
        "240.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_routable_addresses_are_unknown(ip: str) -> None:
    assert Locator().lookup(ip) == UNKNOWN


def test_lookups_are_batched_and_keep_order() -> None:
    found = Locator().lookup_many(["8.8.8.8", "10.0.0.1", "130.208.1.1", "8.8.8.8"])
    assert [loc.country for loc in found] == ["US", None, "IS", "US"]


def test_mmdb_geolite_layout_gives_region_and_city(tmp_path: Path) -> None:
    locator = MmdbLocator(str(write_mmdb(tmp_path / "city.mmdb", GEOLITE_LAYOUT)))
    assert locator.lookup("130.208.4.4") == Location("IS", "Capital Region", "Reykjavik")
    assert locator.lookup("2a00:1450::1") == Location("DE", None, "Berlin")
    assert locator.lookup("9.9.9.9") == UNKNOWN
    assert locator.lookup("10.0.0.1") == UNKNOWN


def test_mmdb_ipinfo_layout(tmp_path: Path) -> None:
    locator = MmdbLocator(str(write_mmdb(tmp_path / "ipinfo.mmdb", IPINFO_LAYOUT)))
    assert locator.lookup("8.8.8.8") == Location("US", "California", "Mountain View")


def test_a_missing_or_unreadable_mmdb_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(GeoError, match="SHARELOG_GEOIP_DB"):
        open_locator(str(tmp_path / "absent.mmdb"))
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database at all" * 10)
    with pytest.raises(GeoError, match="SHARELOG_GEOIP_DB"):
        open_locator(str(junk))


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_serve_refuses_to_start_without_its_mmdb(tmp_path: Path, problem: str) -> None:
    path = tmp_path / "city.mmdb"
    if problem == "corrupt":
        path.write_bytes(b"\x00garbage")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sharelog",
            "serve",
            "--port",
            "8999",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        env={"PATH": "/usr/bin:/bin", "SHARELOG_GEOIP_DB": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SHARELOG_GEOIP_DB" in result.stderr


@pytest.mark.parametrize(
    ("policy", "ipv4", "ipv6"),
    [
        ("none", None, None),
        ("truncated", "130.208.4.0", "2a00:1450:4001::"),
        ("full", "130.208.4.4", "2a00:1450:4001:81c::200e"),
    ],
)
def test_store_ip_policy(policy: str, ipv4: str | None, ipv6: str | None) -> None:
    assert reduce_ip("130.208.4.4", policy) == ipv4
    assert reduce_ip("2a00:1450:4001:81c::200e", policy) == ipv6


def test_an_unknown_store_ip_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="SHARELOG_STORE_IP"):
        Settings(store_ip="some")


def viewer(vid: str, ip: str, **extra: Any) -> dict[str, Any]:
    return {"id": vid, "joined": "2026-11-02T10:01:00Z", "ip": ip, **extra}


def test_imported_and_reported_viewers_are_located_from_their_ip(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                viewer("a", "8.8.8.8"),
                viewer("b", "130.208.1.1"),
                viewer("c", "10.0.0.1"),
                viewer("d", "8.8.4.4", location={"country": "FR", "city": "Paris"}),
            ]
        )
    )
    listed = {
        v["id"]: v["country"] for v in api.get("/ss/api/sessions/s-1").json()["viewers"]["list"]
    }
    assert listed == {"a": "US", "b": "IS", "c": None, "d": "FR"}
    api.post(
        "/ss/api/events",
        json={
            "events": [
                {
                    "id": "e1",
                    "type": "session.started",
                    "session": "live",
                    "at": "2026-11-02T12:00:00Z",
                    "agent": "a@b.co",
                },
                {
                    "id": "e2",
                    "type": "viewer.joined",
                    "session": "live",
                    "at": "2026-11-02T12:00:05Z",
                    "viewer": "v",
                    "ip": "130.208.1.1",
                },
            ]
        },
    ).raise_for_status()
    [located] = api.get("/ss/api/sessions/live").json()["viewers"]["list"]
    assert located["country"] == "IS"


def test_city_level_data_reaches_usage(tmp_path: Path, sqlite_db: Database) -> None:
    mmdb = write_mmdb(tmp_path / "city.mmdb", GEOLITE_LAYOUT)
    tenant = make_tenant(sqlite_db, "acme")
    settings = Settings(database_url=sqlite_db.url, geoip_db=str(mmdb))
    with TestClient(create_app(settings, database=sqlite_db)) as client:
        api = Api(client, tenant)
        api.import_sessions(
            session_body(viewers=[viewer("a", "130.208.9.9"), viewer("b", "130.208.1.2")])
        )
        [session] = api.usage(**{"from": "2026-11-01", "to": "2026-11-03"})["sessions"]
    assert session["viewers"]["locations"] == [
        {"country": "IS", "region": "Capital Region", "city": "Reykjavik", "count": 2}
    ]


@pytest.mark.parametrize(
    ("policy", "kept"), [("none", None), ("truncated", "130.208.4.0"), ("full", "130.208.4.4")]
)
def test_by_default_no_raw_address_is_stored(
    tmp_path: Path, sqlite_db: Database, policy: str, kept: str | None
) -> None:
    tenant = make_tenant(sqlite_db, "acme")
    settings = Settings(database_url=sqlite_db.url, store_ip=policy)
    with TestClient(create_app(settings, database=sqlite_db)) as client:
        Api(client, tenant).import_sessions(session_body(viewers=[viewer("a", "130.208.4.4")]))
    with sqlite_db.reading() as conn:
        assert conn.execute(text("SELECT ip, country FROM viewers")).one() == (kept, "IS")
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    assert (b"130.208.4.4" in raw) == (policy == "full")


def test_geo_lookup_command(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["geo", "lookup", "8.8.8.8", "10.0.0.1"])
    assert result.exit_code == 0, result.output
    assert "US" in result.output and "iptocc" in result.output
    mmdb = write_mmdb(tmp_path / "city.mmdb", GEOLITE_LAYOUT)
    result = runner.invoke(cli, ["geo", "lookup", "130.208.1.1", "--geoip-db", str(mmdb)])
    assert result.exit_code == 0 and "Reykjavik" in result.output
    result = runner.invoke(cli, ["geo", "lookup", "not-an-ip"])
    assert result.exit_code == 2
