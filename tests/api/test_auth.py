"""Authentication: four forms of the key, 401 with the challenge, 403 for a read key
on a write endpoint, keys kept only as hashes, service endpoints open without a key,
and accounts that never see each other."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.store.schema import api_keys
from sharelog.timestamps import now_us
from tests.api.test_errors import assert_error
from tests.conftest import Api, Tenant, session_body

CHALLENGE = 'Basic realm="sharelog"'
WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def key_forms(key: str) -> dict[str, str]:
    """The four Authorization headers the contract accepts for one key."""
    return {
        "basic-raw": f"Basic {key}",
        "bearer": f"Bearer {key}",
        "http-basic": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "bare": key,
    }


def assert_unauthorized(response: httpx.Response) -> None:
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("form", ["basic-raw", "bearer", "http-basic", "bare"])
def test_every_key_form_reads(client: TestClient, tenant: Tenant, form: str) -> None:
    Api(client, tenant).import_sessions(session_body("s-1"))
    headers = {"Authorization": key_forms(tenant.read_key)[form]}
    usage = client.get("/ss/api/usage", params=WINDOW, headers=headers)
    assert usage.status_code == 200, usage.text
    assert [s["id"] for s in usage.json()["sessions"]] == ["s-1"]
    assert client.get("/ss/api/sessions/s-1", headers=headers).status_code == 200
    # Without a window too (the default one).
    assert client.get("/ss/api/usage", headers=headers).status_code == 200


@pytest.mark.parametrize("form", ["basic-raw", "bearer", "http-basic", "bare"])
def test_every_key_form_writes(client: TestClient, tenant: Tenant, form: str) -> None:
    headers = {"Authorization": key_forms(tenant.write_key)[form]}
    response = client.post("/ss/api/sessions", json=session_body(f"s-{form}"), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "created": 1, "replaced": 0}


def test_curl_user_form_is_accepted(client: TestClient, tenant: Tenant) -> None:
    # What `curl -u KEY:` sends: httpx builds the same header from (KEY, "").
    response = client.get("/ss/api/usage", auth=(tenant.read_key, ""))
    assert response.status_code == 200, response.text


def test_the_scheme_name_is_case_insensitive(client: TestClient, tenant: Tenant) -> None:
    for header in (f"basic {tenant.read_key}", f"BEARER {tenant.read_key}"):
        assert client.get("/ss/api/usage", headers={"Authorization": header}).status_code == 200


ENDPOINTS = [
    ("GET", "/ss/api/usage"),
    ("GET", "/ss/api/sessions/s-1"),
    ("POST", "/ss/api/sessions"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_key_is_401_with_the_challenge(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json=session_body() if method == "POST" else None)
    assert_unauthorized(response)


@pytest.mark.parametrize(
    "header",
    [
        "Basic slk_0000000000000000000000000000000000",
        "Bearer slk_0000000000000000000000000000000000",
        "Basic " + base64.b64encode(b"slk_0000000000000000000000000000000000:").decode(),
        "Basic not-a-key",
        "Basic slk_unknownunknownunknownunknown12",
        "Bearer",
        "Basic",
        "",
        "Token slk_0000000000000000000000000000000000",
        "Token abc",
        "Basic " + "A" * 5000,
    ],
)
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_unknown_key_is_401_with_the_challenge(
    client: TestClient, method: str, path: str, header: str
) -> None:
    response = client.request(
        method,
        path,
        headers={"Authorization": header},
        json=session_body() if method == "POST" else None,
    )
    assert_unauthorized(response)


@pytest.mark.parametrize("scope", ["read", "write"])
def test_a_revoked_key_is_401_in_every_form(
    client: TestClient, tenant: Tenant, db: Database, scope: str
) -> None:
    key = tenant.read_key if scope == "read" else tenant.write_key
    for header in key_forms(key).values():
        assert client.get("/ss/api/usage", headers={"Authorization": header}).status_code == 200
    with db.writing() as conn:
        account_store.revoke_key(conn, key, now_us())
    for header in key_forms(key).values():
        assert_unauthorized(client.get("/ss/api/usage", headers={"Authorization": header}))
        response = client.post(
            "/ss/api/sessions", json=session_body(), headers={"Authorization": header}
        )
        assert_unauthorized(response)
    # The account's other key still works.
    other = tenant.write_key if scope == "read" else tenant.read_key
    assert (
        client.get("/ss/api/usage", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    )


def test_a_key_revoked_by_its_display_prefix_is_401_at_once(
    client: TestClient, tenant: Tenant, db: Database
) -> None:
    headers = {"Authorization": f"Bearer {tenant.read_key}"}
    assert client.get("/ss/api/usage", headers=headers).status_code == 200
    with db.writing() as conn:
        account_store.revoke_key(conn, tenant.read_key[:12], now_us())
    assert_unauthorized(client.get("/ss/api/usage", headers=headers))


@pytest.mark.parametrize("form", ["basic-raw", "bearer", "http-basic", "bare"])
def test_a_read_key_on_a_write_endpoint_is_403_and_writes_nothing(
    client: TestClient, tenant: Tenant, form: str
) -> None:
    headers = {"Authorization": key_forms(tenant.read_key)[form]}
    response = client.post("/ss/api/sessions", json=session_body(), headers=headers)
    assert_error(response, 403)
    assert Api(client, tenant).usage(**WINDOW)["sessions"] == []


def test_a_write_key_reads_every_get(client: TestClient, tenant: Tenant) -> None:
    api = Api(client, tenant)
    api.import_sessions(session_body("s-1"))
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    assert client.get("/ss/api/usage", params=WINDOW, headers=headers).status_code == 200
    assert client.get("/ss/api/usage", headers=headers).status_code == 200
    assert client.get("/ss/api/sessions/s-1", headers=headers).status_code == 200


def test_the_key_is_checked_before_the_parameters(client: TestClient) -> None:
    assert_unauthorized(client.get("/ss/api/usage?from=nonsense&limit=0"))
    assert_unauthorized(client.get("/ss/api/usage?from=nonsense"))
    assert_unauthorized(client.post("/ss/api/sessions", content=b"{not json"))


def test_keys_have_the_prefix_and_enough_entropy_and_are_stored_only_as_hashes(
    tenant: Tenant, db: Database
) -> None:
    for key in (tenant.read_key, tenant.write_key):
        assert re.fullmatch(r"slk_[A-Za-z0-9]{32}", key)  # 32 base62 characters: 190 bits
    assert tenant.read_key != tenant.write_key
    with db.reading() as conn:
        rows = conn.execute(select(api_keys)).mappings().all()
    stored = " ".join(str(value) for row in rows for value in row.values())
    for key in (tenant.read_key, tenant.write_key):
        assert key not in stored
        assert key[12:] not in stored  # only the display prefix is kept in clear


def test_service_endpoints_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "sharelog_http_requests_total" in metrics.text
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    for path in (
        "/ss/api/usage",
        "/ss/api/sessions",
        "/ss/api/sessions/{session_id}",
        "/ss/api/events",
    ):
        assert path in document["paths"]
        for method, operation in document["paths"][path].items():
            if method == "delete":
                assert set(operation["responses"]) >= {"204", "404"}
                continue
            assert "200" in operation["responses"]
            assert "content" in operation["responses"]["200"]


def test_an_account_never_sees_another_accounts_usage(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine, theirs = Api(client, tenant), Api(client, other_tenant)
    mine.import_sessions(session_body("s-1", agent="alice@example.com"))
    theirs.import_sessions(session_body("s-2", agent="bob@example.com"))
    for api, expected, agent in ((mine, "s-1", "alice"), (theirs, "s-2", "bob")):
        document = api.usage(**WINDOW)
        assert [s["id"] for s in document["sessions"]] == [expected]
        assert list(document["stats"]["per_agent"]) == [f"{agent}@example.com"]
    other_agent = mine.usage(**WINDOW, agent="bob@example.com")
    assert other_agent["sessions"] == [] and other_agent["stats"]["per_agent"] == {}


def test_an_account_cannot_get_another_accounts_session(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    Api(client, other_tenant).import_sessions(session_body("s-secret"))
    assert_error(Api(client, tenant).get("/ss/api/sessions/s-secret"), 404)


def test_importing_an_id_another_account_has_creates_a_separate_session(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine, theirs = Api(client, tenant), Api(client, other_tenant)
    theirs.import_sessions(session_body("s-1", agent="bob@example.com"))
    reply = mine.import_sessions(session_body("s-1", agent="alice@example.com"))
    assert reply == {"received": 1, "created": 1, "replaced": 0}
    assert mine.get("/ss/api/sessions/s-1").json()["agent"] == "alice@example.com"
    assert theirs.get("/ss/api/sessions/s-1").json()["agent"] == "bob@example.com"
    # Replacing my copy leaves theirs alone.
    mine.import_sessions(session_body("s-1", agent="carol@example.com", end=None))
    theirs_now = theirs.get("/ss/api/sessions/s-1").json()
    assert (theirs_now["agent"], theirs_now["end"]) == ("bob@example.com", "2026-11-02T10:30:00Z")
