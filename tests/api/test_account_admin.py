"""GET/PATCH /ss/api/account, DELETE /ss/api/agents/{email}, and retention sweeps."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sharelog.domain import Scope
from sharelog.removal import Remover
from sharelog.store import accounts as account_store
from sharelog.store import audit
from sharelog.store.database import Database
from sharelog.store.schema import metadata
from sharelog.timestamps import now_us, parse_timestamp
from tests.conftest import Api, session_body


@pytest.fixture
def admin(api: Api, db: Database) -> dict[str, str]:
    with db.writing() as conn:
        key = account_store.create_key(conn, api.tenant.account_id, Scope.ADMIN, now_us())
    return {"Authorization": f"Basic {key}"}


def call(
    api: Api, method: str, path: str, headers: dict[str, str], **kwargs: Any
) -> httpx.Response:
    return api.client.request(method, path, headers=headers, **kwargs)


def audit_log(db: Database, account_id: int) -> list[tuple[str, str, str]]:
    with db.reading() as conn:
        entries = audit.entries(conn, account_id, before_id=None, limit=100)
    return [(e["key"], e["action"], e["target"]) for e in entries]


def test_get_account(api: Api, admin: dict[str, str]) -> None:
    response = call(api, "GET", "/ss/api/account", admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == api.tenant.account_id and body["name"] == "acme"
    assert body["retention_days"] is None
    assert parse_timestamp(body["created"]) <= now_us()


def test_admin_endpoints_need_an_admin_key(api: Api) -> None:
    for key in (api.tenant.read_key, api.tenant.write_key):
        headers = {"Authorization": f"Basic {key}"}
        assert call(api, "GET", "/ss/api/account", headers).status_code == 403
        assert (
            call(api, "PATCH", "/ss/api/account", headers, json={"retention_days": 1}).status_code
            == 403
        )
        assert call(api, "DELETE", "/ss/api/agents/a@x.io", headers).status_code == 403
    assert api.client.get("/ss/api/account").status_code == 401


def test_an_admin_key_also_reads_and_writes(api: Api, admin: dict[str, str]) -> None:
    body = {"sessions": [session_body("s")]}
    assert call(api, "POST", "/ss/api/sessions", admin, json=body).status_code == 200
    assert call(api, "GET", "/ss/api/sessions/s", admin).status_code == 200
    assert call(api, "DELETE", "/ss/api/sessions/s", admin).status_code == 204


def test_patch_retention_is_audited_and_null_keeps_everything(
    api: Api, admin: dict[str, str], db: Database
) -> None:
    response = call(api, "PATCH", "/ss/api/account", admin, json={"retention_days": 365})
    assert response.status_code == 200 and response.json()["retention_days"] == 365
    assert call(api, "GET", "/ss/api/account", admin).json()["retention_days"] == 365
    response = call(api, "PATCH", "/ss/api/account", admin, json={"retention_days": None})
    assert response.status_code == 200 and response.json()["retention_days"] is None
    prefix = admin["Authorization"][len("Basic ") :][:12]
    assert audit_log(db, api.tenant.account_id) == [
        (prefix, "account.updated", "retention_days=null"),
        (prefix, "account.updated", "retention_days=365"),
    ]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": -3}, "retention_days"),
        ({"retention_days": "30"}, "retention_days"),
        ({"retention_days": 1.5}, "retention_days"),
        ({"retention_days": True}, "retention_days"),
        ({"name": "x"}, "name"),
        ([1], "body"),
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(
    api: Api, admin: dict[str, str], db: Database, body: Any, parameter: str
) -> None:
    response = call(api, "PATCH", "/ss/api/account", admin, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["parameter"] == parameter
    assert call(api, "GET", "/ss/api/account", admin).json()["retention_days"] is None
    assert audit_log(db, api.tenant.account_id) == []


def test_erasure_deletes_the_agents_sessions_only(
    api: Api, admin: dict[str, str], db: Database
) -> None:
    api.import_sessions(
        session_body("a1", agent="Alice@Example.com"),
        session_body("a2", agent="alice@example.com"),
        session_body("b1", agent="bob@example.com"),
    )
    feed = api.get("/ss/api/changes").json()
    response = call(api, "DELETE", "/ss/api/agents/ALICE@example.com", admin)
    assert response.status_code == 200 and response.json() == {"deleted": 2}
    usage = api.usage(**{"from": "2026-11-01", "to": "2026-12-01"})
    assert [s["id"] for s in usage["sessions"]] == ["b1"]
    assert list(usage["stats"]["per_agent"]) == ["bob@example.com"]
    later = api.get("/ss/api/changes", params={"since": feed["next"]}).json()["changes"]
    assert sorted((c["id"], c["change"]) for c in later) == [("a1", "deleted"), ("a2", "deleted")]
    again = call(api, "DELETE", "/ss/api/agents/alice@example.com", admin)
    assert again.status_code == 200 and again.json() == {"deleted": 0}
    prefix = admin["Authorization"][len("Basic ") :][:12]
    assert audit_log(db, api.tenant.account_id)[-1] == (prefix, "agent.erased", "alice@example.com")


def test_after_erasure_only_the_audit_log_names_the_agent(
    api: Api, admin: dict[str, str], db: Database
) -> None:
    """Imports and events both name the agent; erasure leaves no row that does
    but the audit entry (no list of agents is kept apart from the sessions)."""
    api.import_sessions(session_body("a1", agent="alice@example.com", agent_name="Alice A."))
    started = {
        "id": "e1",
        "type": "session.started",
        "session": "a2",
        "at": "2026-11-03T10:00:00Z",
        "agent": "alice@example.com",
        "agent_name": "Alice A.",
    }
    assert api.post("/ss/api/events", json={"events": [started]}).status_code == 200
    assert call(api, "DELETE", "/ss/api/agents/alice@example.com", admin).json() == {"deleted": 2}
    naming = []
    with db.reading() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                if any("alice" in str(value).lower() for value in row):
                    naming.append(table.name)
    assert naming == ["audit_log"]


def test_erasure_of_a_bad_email_is_a_400(api: Api, admin: dict[str, str]) -> None:
    response = call(api, "DELETE", "/ss/api/agents/not-an-email", admin)
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "email"


def test_erasure_goes_in_batches(api: Api, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from sharelog.store import deletions

    monkeypatch.setattr(deletions, "DELETE_BATCH", 3)
    api.import_sessions(*(session_body(f"s{i}") for i in range(7)))
    assert Remover(db).erase_agent(api.tenant.account_id, "alice@example.com", "cli") == 7
    assert api.usage(**{"from": "2026-11-01", "to": "2026-12-01"})["sessions"] == []


def test_the_sweep_deletes_sessions_past_retention(
    api: Api, admin: dict[str, str], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sharelog.store import deletions

    monkeypatch.setattr(deletions, "DELETE_BATCH", 2)
    api.import_sessions(
        *(session_body(f"old{i}", start="2020-01-01T00:00:00Z", end=None) for i in range(5)),
        session_body("new", start="2026-11-01T00:00:00Z", end=None),
    )
    with db.writing() as conn:
        account_store.set_retention(conn, api.tenant.account_id, 365)
    result = Remover(db).sweep(tombstone_days=30, at_us=parse_timestamp("2026-12-01"))
    assert result.sessions_deleted == 5
    everything = api.usage(**{"from": "2000-01-01", "to": "2030-01-01"})
    assert [s["id"] for s in everything["sessions"]] == ["new"]
    changes = api.get("/ss/api/changes").json()["changes"]
    assert sorted(c["id"] for c in changes if c["change"] == "deleted") == [
        f"old{i}" for i in range(5)
    ]


def test_a_new_retention_is_swept_at_once(api: Api, admin: dict[str, str]) -> None:
    import time

    api.import_sessions(session_body("old", start="2020-01-01T00:00:00Z", end=None))
    assert (
        call(api, "PATCH", "/ss/api/account", admin, json={"retention_days": 30}).status_code == 200
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if api.get("/ss/api/sessions/old").status_code == 404:
            break
        time.sleep(0.05)
    assert api.get("/ss/api/sessions/old").status_code == 404
