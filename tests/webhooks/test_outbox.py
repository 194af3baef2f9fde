"""record_messages as the deletion paths will call it, and its rules, on the store directly."""

from __future__ import annotations

import orjson

from sharelog.domain import SessionChange, SessionIn
from sharelog.store import outbox
from sharelog.store import sessions as session_store
from sharelog.store import webhooks as endpoint_store
from sharelog.store.database import Database
from sharelog.store.positions import mark_deleted
from sharelog.timestamps import now_us
from sharelog.webhooks import record_messages
from sharelog.webhooks.messages import types_of
from tests.conftest import Tenant


def endpoint(db: Database, tenant: Tenant, endpoint_id: str, events: tuple[str, ...]) -> None:
    with db.writing(tenant.account_id) as conn:
        endpoint_store.insert_endpoint(
            conn,
            tenant.account_id,
            endpoint_id,
            url="https://public.example/",
            events=events,
            description="",
            secret="whsec_" + "A" * 43 + "=",
            now_us=now_us(),
        )


def test_a_deletion_in_the_same_transaction_queues_session_deleted(
    db: Database, tenant: Tenant
) -> None:
    endpoint(db, tenant, "ep_deleted", ("session.deleted",))
    endpoint(db, tenant, "ep_ended", ("session.ended",))
    with db.writing(tenant.account_id) as conn:
        changes = mark_deleted(conn, tenant.account_id, ["s-1", "s-2"], now_us())
        assert record_messages(conn, tenant.account_id, changes, now_us()) == 2
    with db.writing(tenant.account_id) as conn:
        claimed = outbox.claim_due(
            conn,
            tenant.account_id,
            "ep_deleted",
            now_us=now_us(),
            lease_until_us=now_us() + 10**8,
            token="t",
            limit=10,
        )
        assert (
            outbox.claim_due(
                conn,
                tenant.account_id,
                "ep_ended",
                now_us=now_us(),
                lease_until_us=0,
                token="t",
                limit=10,
            )
            == []
        )
    payloads = sorted((orjson.loads(m.body) for m in claimed), key=lambda p: p["data"]["seq"])
    assert [p["type"] for p in payloads] == ["session.deleted"] * 2
    assert [p["data"]["id"] for p in payloads] == ["s-1", "s-2"]
    assert set(payloads[0]["data"]) == {"seq", "id"}


def test_a_rolled_back_write_leaves_no_message(db: Database, tenant: Tenant) -> None:
    endpoint(db, tenant, "ep_all", ("*",))
    try:
        with db.writing(tenant.account_id) as conn:
            changes = mark_deleted(conn, tenant.account_id, ["s-1"], now_us())
            record_messages(conn, tenant.account_id, changes, now_us())
            raise RuntimeError("the write fails after its messages")
    except RuntimeError:
        pass
    with db.reading() as conn:
        assert outbox.queue_figures(conn) == []


def test_the_rules_of_which_messages_a_change_makes() -> None:
    assert types_of(SessionChange("s", 1, started=True, ended=True)) == [
        "session.started",
        "session.updated",
        "session.ended",
    ]
    assert types_of(SessionChange("s", 1)) == ["session.updated"]
    assert types_of(SessionChange("s", 1, listed=False)) == []
    assert types_of(SessionChange("s", 1, deleted=True)) == ["session.deleted"]


def test_imports_queue_with_the_session_as_in_usage(db: Database, tenant: Tenant) -> None:
    endpoint(db, tenant, "ep_started", ("session.started",))
    with db.writing(tenant.account_id) as conn:
        result = session_store.import_sessions(
            conn,
            tenant.account_id,
            [SessionIn(id="s-1", agent="a@x.io", start_us=1_700_000_000_000_000, end_us=None)],
            now_us(),
        )
        assert record_messages(conn, tenant.account_id, result.changes, now_us()) == 1
    with db.writing(tenant.account_id) as conn:
        [claimed] = outbox.claim_due(
            conn,
            tenant.account_id,
            "ep_started",
            now_us=now_us(),
            lease_until_us=0,
            token="t",
            limit=5,
        )
    payload = orjson.loads(claimed.body)
    assert payload["type"] == "session.started"
    assert payload["data"]["session"]["id"] == "s-1" and payload["data"]["session"]["end"] is None
    assert payload["timestamp"].endswith("Z")
