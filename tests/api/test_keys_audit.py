"""The account's own keys and audit log, with an admin key."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from tests.conftest import Tenant
from tests.webhooks.conftest import Admin, admin_key


@pytest.fixture
def admin(client: TestClient, db: Database, tenant: Tenant) -> Admin:
    return Admin(client, admin_key(db, tenant.account_id))


def test_create_list_and_revoke_keys_with_their_audit_entries(
    client: TestClient, admin: Admin, tenant: Tenant
) -> None:
    created = admin.request("POST", "/ss/api/keys", json={"scope": "read"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"key", "prefix", "scope", "created"}
    assert body["key"].startswith("slk_") and body["prefix"] == body["key"][:12]
    assert body["scope"] == "read"
    usage = client.get("/ss/api/usage", headers={"Authorization": f"Basic {body['key']}"})
    assert usage.status_code == 200
    keys = admin.request("GET", "/ss/api/keys").json()["keys"]
    mine = next(k for k in keys if k["prefix"] == body["prefix"])
    assert mine["scope"] == "read" and mine["revoked"] is None
    # Used once just now: to the minute.
    assert mine["last_used"] is not None and mine["last_used"].endswith(":00Z")
    assert all("key" not in k for k in keys)
    assert {k["prefix"] for k in keys} >= {tenant.read_key[:12], tenant.write_key[:12]}
    assert admin.request("DELETE", f"/ss/api/keys/{body['prefix']}").status_code == 204
    refused = client.get("/ss/api/usage", headers={"Authorization": f"Basic {body['key']}"})
    assert refused.status_code == 401
    keys = admin.request("GET", "/ss/api/keys").json()["keys"]
    assert next(k for k in keys if k["prefix"] == body["prefix"])["revoked"] is not None
    # Revoking again changes nothing and records nothing.
    assert admin.request("DELETE", f"/ss/api/keys/{body['prefix']}").status_code == 204
    entries = admin.request("GET", "/ss/api/audit").json()["entries"]
    assert [(e["action"], e["target"], e["key"]) for e in entries] == [
        ("key.revoked", body["prefix"], admin.key[:12]),
        ("key.created", body["prefix"], admin.key[:12]),
    ]
    assert entries[0]["at"].endswith("Z")


def test_another_accounts_key_is_a_404_and_stays_live(
    client: TestClient, db: Database, admin: Admin, other_tenant: Tenant
) -> None:
    response = admin.request("DELETE", f"/ss/api/keys/{other_tenant.read_key[:12]}")
    assert response.status_code == 404
    assert admin.request("DELETE", "/ss/api/keys/slk_nothere00").status_code == 404
    assert admin.request("DELETE", "/ss/api/keys/x%00y").status_code == 404
    usage = client.get("/ss/api/usage", headers={"Authorization": f"Basic {other_tenant.read_key}"})
    assert usage.status_code == 200
    theirs = Admin(client, admin_key(db, other_tenant.account_id))
    assert admin.request("GET", "/ss/api/audit").json()["entries"] == []
    assert all(
        k["prefix"] != other_tenant.read_key[:12]
        for k in admin.request("GET", "/ss/api/keys").json()["keys"]
    )
    assert theirs.request("GET", "/ss/api/keys").status_code == 200


def test_bad_key_requests(admin: Admin) -> None:
    for body, parameter in (
        ({"scope": "root"}, "scope"),
        ({}, "scope"),
        ({"scope": "read", "extra": 1}, "extra"),
        ("read", "body"),
    ):
        response = admin.request("POST", "/ss/api/keys", json=body)
        assert response.status_code == 400 and response.json()["error"]["parameter"] == parameter
    assert admin.request("GET", "/ss/api/audit").json()["entries"] == []


def test_audit_pages_newest_first(admin: Admin) -> None:
    prefixes = [
        admin.request("POST", "/ss/api/keys", json={"scope": "read"}).json()["prefix"]
        for _ in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = admin.request("GET", "/ss/api/audit", params=params).json()
        seen += [e["target"] for e in page["entries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(prefixes))
    for params in ({"limit": "0"}, {"limit": "x"}, {"cursor": "forged"}, {"limit": ["1", "2"]}):
        response = admin.request("GET", "/ss/api/audit", params=params)
        assert response.status_code == 400


def test_last_use_is_written_at_most_once_a_minute(
    client: TestClient, db: Database, tenant: Tenant
) -> None:
    for _ in range(3):
        client.get("/ss/api/usage", headers={"Authorization": f"Basic {tenant.read_key}"})
    with db.reading() as conn:
        [row] = [
            r
            for r in account_store.account_keys(conn, tenant.account_id)
            if r.prefix == tenant.read_key[:12]
        ]
    assert row.last_used_us is not None and row.last_used_us % 60_000_000 == 0
