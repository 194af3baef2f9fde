"""Deletions, erasure and retention sweeps send ``session.deleted``, in the same transaction."""

from __future__ import annotations

from typing import Any

from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import parse_timestamp
from tests.conftest import Api, session_body
from tests.webhooks.conftest import Admin


def messages(admin: Admin, endpoint: str) -> list[dict[str, Any]]:
    response = admin.request("GET", f"/ss/api/webhooks/{endpoint}/messages")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def test_every_kind_of_deletion_sends_session_deleted(api: Api, admin: Admin, db: Database) -> None:
    endpoint = admin.create("http://public.example/hook", ["session.deleted"])["id"]
    api.import_sessions(
        session_body("one"),
        session_body("two", agent="bob@example.com"),
        session_body("old", start="2020-01-01T00:00:00Z", end=None),
    )
    assert messages(admin, endpoint) == []
    assert (
        api.client.delete(
            "/ss/api/sessions/one", headers={"Authorization": f"Basic {api.tenant.write_key}"}
        ).status_code
        == 204
    )
    erased = admin.request("DELETE", "/ss/api/agents/bob@example.com")
    assert erased.status_code == 200 and erased.json() == {"deleted": 1}
    with db.writing() as conn:
        account_store.set_retention(conn, api.tenant.account_id, 365)
    remover = api.client.app.state.remover  # type: ignore[attr-defined]
    assert remover.sweep(30, at_us=parse_timestamp("2026-12-01")).sessions_deleted == 1
    sent = messages(admin, endpoint)
    assert sorted(m["type"] for m in sent) == ["session.deleted"] * 3
    assert all(m["status"] == "pending" for m in sent)
