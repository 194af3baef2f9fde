"""The sender against a real receiver on 127.0.0.1: signatures, retries, disabling, rotation."""

from __future__ import annotations

import asyncio
from typing import Any

from standardwebhooks import Webhook
from starlette.testclient import TestClient

from sharelog.store import outbox
from sharelog.store import webhooks as endpoint_store
from sharelog.store.database import Database
from sharelog.timestamps import US_PER_SECOND, now_us
from sharelog.webhooks.sender import Sender, SenderOptions
from tests.conftest import Api, Tenant
from tests.webhooks.conftest import Admin, fake_resolver
from tests.webhooks.receiver import receiver


def send(db: Database, **options: Any) -> Sender:
    sender = Sender(
        db, SenderOptions(allow_private=True, resolver=fake_resolver, poll_seconds=0.05, **options)
    )
    asyncio.run(sender.run_until_idle(timeout=20))
    return sender


def allow_private(client: TestClient) -> None:
    state = client.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.with_overrides(webhook_allow_private=True)


def events(*items: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(items)}


def started(sid: str, eid: str, at: str = "2026-11-02T10:00:00Z") -> dict[str, Any]:
    return {"id": eid, "type": "session.started", "session": sid, "at": at, "agent": "a@x.io"}


def ended(sid: str, eid: str, at: str = "2026-11-02T10:30:00Z") -> dict[str, Any]:
    return {"id": eid, "type": "session.ended", "session": sid, "at": at}


def test_messages_are_signed_and_verify_with_the_standard_library(
    client: TestClient, db: Database, admin: Admin, api: Api
) -> None:
    allow_private(client)
    with receiver() as r:
        hook = admin.create(r.url + "/crm", ["session.ended", "session.started"])
        reply = api.post("/ss/api/events", json=events(started("s-1", "e-1"), ended("s-1", "e-2")))
        assert reply.status_code == 200
        send(db)
        payloads = r.verified(hook["secret"])
    # No order is promised: a receiver sorts by data.seq.
    assert sorted(p["type"] for p in payloads) == ["session.ended", "session.started"]
    by_type = {p["type"]: p for p in payloads}
    session = by_type["session.ended"]["data"]["session"]
    assert session["id"] == "s-1" and session["end"] == "2026-11-02T10:30:00Z"
    assert session["duration"] == 1800
    assert session["viewers"] == {"count": 0, "peak": 0, "locations": []}
    assert session == api.usage(**{"from": "2026-11-01", "to": "2026-11-03"})["sessions"][0]
    assert isinstance(by_type["session.ended"]["data"]["seq"], int)
    assert {req.path for req in r.requests} == {"/crm"}
    assert all(req.headers["content-type"] == "application/json" for req in r.requests)
    log = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
    assert {m["status"] for m in log} == {"delivered"}
    assert {m["last_status_code"] for m in log} == {204} and {m["attempts"] for m in log} == {1}
    assert {m["next_attempt"] for m in log} == {None}


def test_only_subscribed_types_and_one_update_per_session_per_write(
    client: TestClient, db: Database, admin: Admin, api: Api
) -> None:
    allow_private(client)
    with receiver() as r:
        hook = admin.create(r.url + "/u", ["session.updated"])
        api.post(
            "/ss/api/events",
            json=events(
                started("s-1", "e-1"),
                {
                    "id": "e-2",
                    "type": "viewer.joined",
                    "session": "s-1",
                    "at": "2026-11-02T10:01:00Z",
                    "viewer": "v",
                },
                ended("s-1", "e-3"),
                started("s-2", "e-4"),
            ),
        )
        api.post("/ss/api/events", json=events(ended("s-2", "e-5")))
        api.post("/ss/api/events", json=events(ended("s-2", "e-5")))  # a duplicate: no change
        send(db)
        payloads = r.verified(hook["secret"])
    assert sorted((p["type"], p["data"]["session"]["id"]) for p in payloads) == [
        ("session.updated", "s-1"),
        ("session.updated", "s-2"),
        ("session.updated", "s-2"),
    ]
    s1 = next(p for p in payloads if p["data"]["session"]["id"] == "s-1")
    assert s1["data"]["session"]["viewers"]["count"] == 1


def test_an_import_of_an_ended_session_makes_started_and_ended(
    client: TestClient, db: Database, admin: Admin, api: Api
) -> None:
    allow_private(client)
    with receiver() as r:
        hook = admin.create(r.url + "/i", ["session.started", "session.ended"])
        api.import_sessions(
            {
                "id": "s-9",
                "agent": "a@x.io",
                "start": "2026-11-02T10:00:00Z",
                "end": "2026-11-02T11:00:00Z",
            }
        )
        # Importing it again replaces it: not new, and not newly ended.
        api.import_sessions(
            {
                "id": "s-9",
                "agent": "a@x.io",
                "start": "2026-11-02T10:00:00Z",
                "end": "2026-11-02T11:00:00Z",
            }
        )
        send(db)
        types = sorted(p["type"] for p in r.verified(hook["secret"]))
    assert types == ["session.ended", "session.started"]


def test_an_account_without_endpoints_queues_nothing(db: Database, api: Api) -> None:
    api.post("/ss/api/events", json=events(started("s-1", "e-1"), ended("s-1", "e-2")))
    with db.reading() as conn:
        assert outbox.queue_figures(conn) == []


def test_a_failure_is_retried_on_the_schedule_and_then_delivered(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/flaky"] = (500, {})
        hook = admin.create(r.url + "/flaky")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        before = now_us()
        send(db)
        [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
        assert entry["status"] == "pending" and entry["attempts"] == 1
        assert entry["last_status_code"] == 500 and entry["last_error"].startswith("HTTP 500")
        with db.reading() as conn:
            [row] = outbox.message_log(
                conn, hook_account(db, hook["id"]), hook["id"], status=None, before=None, limit=5
            )
        # 5 s, with up to 20% jitter.
        assert before + 5 * US_PER_SECOND <= row.next_attempt_us <= now_us() + 6 * US_PER_SECOND
        del r.answers["/flaky"]
        send(db, clock=lambda: now_us() + 10 * US_PER_SECOND)
        [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
        assert entry["status"] == "delivered" and entry["attempts"] == 2
        ids = {req.headers["webhook-id"] for req in r.requests}
    assert len(r.requests) == 2 and len(ids) == 1  # the same id on every attempt


def hook_account(db: Database, endpoint_id: str) -> int:
    with db.reading() as conn:
        return next(e.account_id for e in endpoint_store.all_endpoints(conn) if e.id == endpoint_id)


def test_retry_after_is_honoured_up_to_twice_the_step(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/busy"] = (429, {"Retry-After": "3600"})
        hook = admin.create(r.url + "/busy")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        before = now_us()
        send(db)
    with db.reading() as conn:
        [row] = outbox.message_log(
            conn, hook_account(db, hook["id"]), hook["id"], status=None, before=None, limit=5
        )
    assert row.last_status_code == 429
    # The first step is 5 s: an hour asked for becomes 10 s.
    assert before + 10 * US_PER_SECOND <= row.next_attempt_us <= now_us() + 10 * US_PER_SECOND


def test_after_the_last_attempt_a_message_is_failed(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/down"] = (503, {})
        hook = admin.create(r.url + "/down")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        send(db, schedule=(0.0, 0.0))
        [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
    assert entry["status"] == "failed" and entry["attempts"] == 3 and entry["next_attempt"] is None
    assert len(r.requests) == 3
    failed = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages?status=failed").json()
    assert len(failed["messages"]) == 1
    replayed = admin.request(
        "POST", f"/ss/api/webhooks/{hook['id']}/replay", json={"since": "2020-01-01"}
    )
    assert replayed.status_code == 202 and replayed.json() == {"queued": 1}
    [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
    assert entry["status"] == "pending" and entry["attempts"] == 0


def test_a_replay_counts_every_message_since_its_instant_pending_ones_too(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        hook = admin.create(r.url + "/ok")
        path = f"/ss/api/webhooks/{hook['id']}"
        admin.request("POST", f"{path}/test")
        send(db)  # delivered
        admin.request("POST", f"{path}/test")  # pending, not sent yet
        replayed = admin.request("POST", f"{path}/replay", json={"since": "2020-01-01"})
        assert replayed.status_code == 202 and replayed.json() == {"queued": 2}
        statuses = admin.request("GET", f"{path}/messages").json()["messages"]
        assert [m["status"] for m in statuses] == ["pending", "pending"]
        send(db)
    assert len(r.requests) == 3  # the first one twice, the second once
    later = admin.request("POST", f"{path}/replay", json={"since": "2100-01-01"})
    assert later.json() == {"queued": 0}


def test_a_redirect_is_a_failure_and_is_not_followed(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/moved"] = (302, {"Location": r.url + "/elsewhere"})
        hook = admin.create(r.url + "/moved")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        send(db)
        assert [req.path for req in r.requests] == ["/moved"]
    [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
    assert entry["status"] == "pending" and entry["last_status_code"] == 302


def test_410_disables_the_endpoint_and_its_messages_wait(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/gone"] = (410, {})
        hook = admin.create(r.url + "/gone")
        path = f"/ss/api/webhooks/{hook['id']}"
        admin.request("POST", f"{path}/test")
        admin.request("POST", f"{path}/test")
        send(db, per_endpoint=1, schedule=(0.0,) * 7)
        shown = admin.request("GET", path).json()
        assert shown["enabled"] is False and "410" in shown["disabled_reason"]
        attempts = len(r.requests)
        assert attempts >= 1
        send(db)  # disabled: nothing is sent
        assert len(r.requests) == attempts
        del r.answers["/gone"]
        admin.request("PATCH", path, json={"enabled": True})
        send(db)
        log = admin.request("GET", f"{path}/messages").json()["messages"]
    assert {m["status"] for m in log} == {"delivered"}


def test_five_days_of_failures_disable_an_endpoint(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/broken"] = (500, {})
        hook = admin.create(r.url + "/broken")
        path = f"/ss/api/webhooks/{hook['id']}"
        admin.request("POST", f"{path}/test")
        send(db)
        assert admin.request("GET", path).json()["enabled"] is True
        later = now_us() + 5 * 86_400 * US_PER_SECOND + US_PER_SECOND
        send(db, clock=lambda: later)
        shown = admin.request("GET", path).json()
    assert shown["enabled"] is False and "5 days" in shown["disabled_reason"]


def test_after_a_rotation_both_secrets_sign_for_a_day(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        hook = admin.create(r.url + "/rot")
        path = f"/ss/api/webhooks/{hook['id']}"
        new = admin.request("POST", f"{path}/rotate-secret").json()["secret"]
        admin.request("POST", f"{path}/test")
        send(db)
        [request] = r.requests
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        Webhook(hook["secret"]).verify(request.body, request.headers)
        Webhook(new).verify(request.body, request.headers)
        # A day later only the new one signs (the receiver checks the attempt's timestamp).
        with db.reading() as conn:
            [endpoint] = [e for e in endpoint_store.all_endpoints(conn) if e.id == hook["id"]]
        assert endpoint.secrets(now_us() + 25 * 3600 * US_PER_SECOND) == [new]


def test_delivery_checks_the_address_again_and_keeps_the_host_name(
    client: TestClient, db: Database, admin: Admin, tenant: Tenant
) -> None:
    allow_private(client)
    with receiver() as r:
        port = r.url.rsplit(":", 1)[1]
        hook = admin.create(f"http://receiver.test:{port}/named")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        # Without the permission, receiver.test (127.0.0.1) is refused at delivery.
        sender = Sender(db, SenderOptions(resolver=fake_resolver, poll_seconds=0.05))
        asyncio.run(sender.run_until_idle(timeout=10))
        assert r.requests == []
        [entry] = admin.request("GET", f"/ss/api/webhooks/{hook['id']}/messages").json()["messages"]
        assert "loopback" in entry["last_error"] and entry["last_status_code"] is None
        send(db, clock=lambda: now_us() + 10 * US_PER_SECOND)
        [request] = r.requests
    assert request.headers["host"] == f"receiver.test:{port}"


def test_metrics_show_the_queue_and_the_deliveries(
    client: TestClient, db: Database, admin: Admin
) -> None:
    allow_private(client)
    with receiver() as r:
        r.answers["/m"] = (500, {})
        hook = admin.create(r.url + "/m")
        admin.request("POST", f"/ss/api/webhooks/{hook['id']}/test")
        text = client.get("/metrics").text
        assert "sharelog_webhook_queue_depth 1" in text
        assert "sharelog_webhook_oldest_pending_seconds" in text
        metrics = client.app.state.metrics  # type: ignore[attr-defined]
        sender = Sender(
            db,
            SenderOptions(allow_private=True, resolver=fake_resolver, poll_seconds=0.05),
            metrics,
        )
        asyncio.run(sender.run_until_idle(timeout=10))
        text = client.get("/metrics").text
    assert 'sharelog_webhook_deliveries_total{result="retry"} 1' in text
    assert f'endpoint="{hook["id"]}"' in text
