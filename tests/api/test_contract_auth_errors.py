"""Keys in three forms, scopes, and the one error shape on every failure."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.conftest import Tenant, session_body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def forms(key: str) -> list[str]:
    return [
        f"Basic {key}",
        f"Bearer {key}",
        "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
    ]


def test_every_form_of_the_key_is_accepted(client: TestClient, tenant: Tenant) -> None:
    for header in forms(tenant.read_key):
        assert client.get("/ss/api/usage", headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic slk_unknownunknownunknownunknown12"},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic"},
    ],
)
def test_no_key_or_an_unknown_one_is_401_with_the_challenge(
    client: TestClient, headers: dict[str, str]
) -> None:
    for path in ("/ss/api/usage", "/ss/api/sessions/x"):
        response = client.get(path, headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == 'Basic realm="sharelog"'
    response = client.post("/ss/api/sessions", json=session_body(), headers=headers)
    assert_error(response, 401, "unauthorized")


def test_a_revoked_key_is_401_at_once(client: TestClient, tenant: Tenant, db: Database) -> None:
    headers = {"Authorization": f"Bearer {tenant.read_key}"}
    assert client.get("/ss/api/usage", headers=headers).status_code == 200
    with db.writing() as conn:
        account_store.revoke_key(conn, tenant.read_key[:12], now_us())
    assert_error(client.get("/ss/api/usage", headers=headers), 401, "unauthorized")


def test_a_read_key_cannot_write_but_a_write_key_can_read(
    client: TestClient, tenant: Tenant
) -> None:
    for header in forms(tenant.read_key):
        response = client.post(
            "/ss/api/sessions", json=session_body(), headers={"Authorization": header}
        )
        assert_error(response, 403, "forbidden")
    assert (
        client.get(
            "/ss/api/usage", headers={"Authorization": f"Basic {tenant.write_key}"}
        ).status_code
        == 200
    )


def test_bad_input_is_checked_after_the_key(client: TestClient) -> None:
    assert_error(client.get("/ss/api/usage?from=nonsense"), 401, "unauthorized")


def test_framework_errors_have_the_contract_shape(client: TestClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    assert_error(client.get("/nowhere", headers=headers), 404, "not_found")
    assert_error(client.delete("/ss/api/usage", headers=headers), 405, "method_not_allowed")
    assert_error(client.put("/ss/api/sessions", headers=headers), 405, "method_not_allowed")


def test_a_body_over_10_mib_is_413(client: TestClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}", "Content-Type": "application/json"}
    big = b'{"sessions": [' + b" " * (10 * 1024 * 1024) + b"]}"
    assert_error(
        client.post("/ss/api/sessions", content=big, headers=headers), 413, "payload_too_large"
    )

    def chunks() -> Any:
        for _ in range(11):
            yield b" " * (1024 * 1024)

    response = client.post("/ss/api/events", content=chunks(), headers=headers)
    assert_error(response, 413, "payload_too_large")


def test_deeply_nested_json_is_a_400_not_a_500(client: TestClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    body = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    error = assert_error(
        client.post("/ss/api/events", content=body, headers=headers), 400, "invalid_parameter"
    )
    assert error["parameter"] == "body"


DEEP = "[" * 1000 + "]" * 1000  # within the parser's 1,024 levels, so it reaches the fields


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/ss/api/usage", f'{{"from": {DEEP}}}'),
        ("POST", "/ss/api/sessions", f'{{"id": "s", "agent": "a@b.co", "start": {DEEP}}}'),
        ("POST", "/ss/api/sessions", f'{{"id": "s", "agent": {DEEP}, "start": 1}}'),
        (
            "POST",
            "/ss/api/sessions",
            f'{{"id": "s", "agent": "a@b.co", "start": 1, "shares": [{{"at": 1, "type": "tab", "title": {DEEP}}}]}}',
        ),
        (
            "POST",
            "/ss/api/events",
            f'{{"events": [{{"id": "e", "type": "session.started", "session": "s", "at": {DEEP}, "agent": "a@b.co"}}]}}',
        ),
        (
            "POST",
            "/ss/api/events",
            f'{{"events": [{{"id": "e", "type": "viewer.joined", "session": "s", "at": 1, "viewer": "v", "location": {DEEP}}}]}}',
        ),
    ],
)
def test_a_deeply_nested_field_is_a_400_naming_it(
    client: TestClient, tenant: Tenant, method: str, path: str, body: str
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}", "Content-Type": "application/json"}
    response = client.request(method, path, content=body, headers=headers)
    error = assert_error(response, 400, "invalid_parameter")
    assert error["parameter"] != "body"  # the field is named, as for any bad value


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
