"""The webhook endpoints of the contract, their rules, their audit entries, and No way in."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, Tenant
from tests.webhooks.conftest import Admin, admin_key


def test_create_shows_the_secret_once_and_lists_without_it(admin: Admin) -> None:
    created = admin.create("https://public.example/hook", ["session.ended"], description="CRM")
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"][len("whsec_") :])) == 32
    assert created["events"] == ["session.ended"] and created["enabled"] is True
    assert created["description"] == "CRM" and created["disabled_reason"] is None
    assert created["created"].endswith("Z")
    listed = admin.request("GET", "/ss/api/webhooks").json()["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = admin.request("GET", f"/ss/api/webhooks/{created['id']}").json()
    assert "secret" not in one and one["url"] == "https://public.example/hook"


def test_patch_delete_rotate_and_their_audit_entries(admin: Admin) -> None:
    created = admin.create("https://public.example/hook")
    path = f"/ss/api/webhooks/{created['id']}"
    patched = admin.request("PATCH", path, json={"events": ["session.deleted"], "enabled": False})
    assert patched.status_code == 200, patched.text
    assert patched.json()["events"] == ["session.deleted"] and patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"]
    again = admin.request("PATCH", path, json={"enabled": True}).json()
    assert again["enabled"] is True and again["disabled_reason"] is None
    rotated = admin.request("POST", f"{path}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    assert admin.request("DELETE", path).status_code == 204
    assert admin.request("GET", path).status_code == 404
    assert admin.request("DELETE", path).status_code == 404
    entries = admin.request("GET", "/ss/api/audit").json()["entries"]
    assert [e["action"] for e in entries] == [
        "webhook.deleted",
        "webhook.secret_rotated",
        "webhook.updated",
        "webhook.updated",
        "webhook.created",
    ]
    assert {e["target"] for e in entries} == {created["id"]}
    assert {e["key"] for e in entries} == {admin.key[:12]}


def test_test_message_and_the_delivery_log(admin: Admin) -> None:
    created = admin.create("https://public.example/hook")
    path = f"/ss/api/webhooks/{created['id']}"
    queued = admin.request("POST", f"{path}/test")
    assert queued.status_code == 202
    message_id = queued.json()["id"]
    log = admin.request("GET", f"{path}/messages").json()
    [entry] = log["messages"]
    assert entry["id"] == message_id and entry["type"] == "webhook.test"
    assert entry["status"] == "pending" and entry["attempts"] == 0
    assert entry["next_attempt"] is not None and entry["last_status_code"] is None
    assert log["next_cursor"] is None
    assert admin.request("GET", f"{path}/messages?status=delivered").json()["messages"] == []
    bad = admin.request("GET", f"{path}/messages?status=lost")
    assert bad.status_code == 400 and bad.json()["error"]["parameter"] == "status"


def test_messages_page_by_cursor_without_skipping_or_repeating(admin: Admin) -> None:
    created = admin.create("https://public.example/hook")
    path = f"/ss/api/webhooks/{created['id']}"
    ids = {admin.request("POST", f"{path}/test").json()["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = admin.request("GET", f"{path}/messages", params=params).json()
        seen += [m["id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    forged = admin.request("GET", f"{path}/messages", params={"cursor": "abc"})
    assert forged.status_code == 400 and forged.json()["error"]["parameter"] == "cursor"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/hook",
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::]/hook",
        "http://[64:ff9b::a00:1]/hook",
        "http://inside.example/hook",
        "http://mixed.example/hook",
        "http://mapped.example/hook",
        "http://nowhere.example/hook",
        "ftp://public.example/hook",
        "https://user:pw@public.example/hook",
        "https://user@public.example/hook",
        "https://public.example/" + "a" * 2048,
        "not a url",
    ],
)
def test_urls_that_lead_inside_or_are_malformed_are_refused(admin: Admin, url: str) -> None:
    response = admin.request("POST", "/ss/api/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["parameter"] == "url"
    assert admin.request("GET", "/ss/api/webhooks").json()["webhooks"] == []
    assert admin.request("GET", "/ss/api/audit").json()["entries"] == []


def test_patch_checks_the_url_too(admin: Admin) -> None:
    created = admin.create("https://public.example/hook")
    response = admin.request(
        "PATCH", f"/ss/api/webhooks/{created['id']}", json={"url": "http://inside.example/"}
    )
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "url"
    assert (
        admin.request("GET", f"/ss/api/webhooks/{created['id']}")
        .json()["url"]
        .startswith("https://public")
    )


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"url": "https://public.example/"}, "events"),
        ({"url": "https://public.example/", "events": []}, "events"),
        ({"url": "https://public.example/", "events": ["session.exploded"]}, "events[0]"),
        ({"url": "https://public.example/", "events": ["*", "session.ended"]}, "events"),
        ({"url": "https://public.example/", "events": ["*"], "description": 5}, "description"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://public.example/", "events": ["*"], "secret": "x"}, "secret"),
        ([1, 2], "body"),
    ],
)
def test_bad_bodies_name_the_field(admin: Admin, body: object, parameter: str) -> None:
    response = admin.request("POST", "/ss/api/webhooks", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["parameter"] == parameter


def test_private_urls_are_allowed_when_configured(client: TestClient, admin: Admin) -> None:
    client.app.state.settings = client.app.state.settings.with_overrides(  # type: ignore[attr-defined]
        webhook_allow_private=True
    )
    assert admin.create("http://127.0.0.1:9/hook")["url"] == "http://127.0.0.1:9/hook"


def test_scope_and_tenancy(
    client: TestClient, db: Database, admin: Admin, api: Api, other_tenant: Tenant
) -> None:
    created = admin.create("https://public.example/hook")
    for key in (api.tenant.read_key, api.tenant.write_key):
        for method, path in (
            ("GET", "/ss/api/webhooks"),
            ("POST", "/ss/api/webhooks"),
            ("GET", f"/ss/api/webhooks/{created['id']}"),
            ("GET", "/ss/api/audit"),
            ("GET", "/ss/api/keys"),
        ):
            response = client.request(method, path, headers={"Authorization": f"Basic {key}"})
            assert response.status_code == 403, (method, path)
    theirs = Admin(client, admin_key(db, other_tenant.account_id))
    assert theirs.request("GET", f"/ss/api/webhooks/{created['id']}").status_code == 404
    assert theirs.request("DELETE", f"/ss/api/webhooks/{created['id']}").status_code == 404
    assert theirs.request("POST", f"/ss/api/webhooks/{created['id']}/test").status_code == 404
    assert theirs.request("GET", "/ss/api/webhooks").json()["webhooks"] == []
    assert admin.request("GET", "/ss/api/webhooks/ep_%00x").status_code == 404


def test_replay_needs_a_timestamp(admin: Admin) -> None:
    created = admin.create("https://public.example/hook")
    path = f"/ss/api/webhooks/{created['id']}/replay"
    for body in ({}, {"since": "yesterday"}):
        response = admin.request("POST", path, json=body)
        assert response.status_code == 400 and response.json()["error"]["parameter"] == "since"
    response = admin.request("POST", path, json={"since": "2026-01-01"})
    assert response.status_code == 202 and response.json() == {"queued": 0}
