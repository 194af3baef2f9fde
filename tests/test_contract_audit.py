"""Contract audit: rules of docs' contract (spec/api.md) checked as its text says them,
on the corners the other tests reach least: viewer segments and peaks at one instant,
webcam pairing, the order-free merge over an import, messages per write, usage_new
while a session goes on, deletion and a resent event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, Tenant
from tests.webhooks.conftest import admin_key, fake_resolver

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def ev(n: int, kind: str, session: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"e-{n}", "type": kind, "session": session, "at": at, **extra}


def send(api: Api, *events: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/ss/api/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def detail(api: Api, sid: str) -> dict[str, Any]:
    response = api.get(f"/ss/api/sessions/{sid}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_leave_and_a_join_at_one_instant_count_the_leave_first(api: Api) -> None:
    send(
        api,
        ev(1, "session.started", "s", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev(2, "viewer.joined", "s", "2026-11-02T10:01:00Z", viewer="v1"),
        ev(3, "viewer.left", "s", "2026-11-02T10:02:00.5Z", viewer="v1"),
        ev(4, "viewer.joined", "s", "2026-11-02T10:02:00.5Z", viewer="v2"),
        ev(5, "session.ended", "s", "2026-11-02T10:10:00Z"),
    )
    session = detail(api, "s")
    assert session["viewers"]["peak"] == 1
    [listed] = api.usage(**WINDOW)["sessions"]
    assert listed["viewers"]["peak"] == 1


def test_segments_follow_joins_and_leaves_by_at_then_event_id(api: Api) -> None:
    # A leave and a join at one instant: ordered by event id, the leave (e-13) comes
    # first and changes nothing, the join (e-14) opens a segment that runs to the end.
    send(
        api,
        ev(11, "session.started", "t", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev(12, "session.ended", "t", "2026-11-02T11:00:00Z"),
        ev(14, "viewer.joined", "t", "2026-11-02T10:20:00Z", viewer="v"),
        ev(13, "viewer.left", "t", "2026-11-02T10:20:00Z", viewer="v"),
    )
    [viewer] = detail(api, "t")["viewers"]["list"]
    assert viewer["segments"] == [{"joined": "2026-11-02T10:20:00Z", "left": None}]
    assert viewer["watched_seconds"] == 2400
    # left: its latest leave, which is not before its latest join.
    assert viewer["left"] == "2026-11-02T10:20:00Z"


def test_webcam_pairs_like_joins_and_leaves(api: Api) -> None:
    send(
        api,
        ev(1, "session.started", "s", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev(2, "webcam.started", "s", "2026-11-02T10:00:00Z"),
        ev(3, "webcam.started", "s", "2026-11-02T10:00:10Z"),  # while on: nothing
        ev(4, "webcam.stopped", "s", "2026-11-02T10:00:20Z"),
        ev(5, "webcam.stopped", "s", "2026-11-02T10:00:30Z"),  # while off: nothing
        ev(6, "webcam.started", "s", "2026-11-02T10:05:00Z"),  # open: runs to the end
        ev(7, "session.ended", "s", "2026-11-02T10:06:00Z"),
    )
    [listed] = api.usage(**WINDOW)["sessions"]
    assert listed["webcam_seconds"] == 80


def test_events_after_an_import_apply_on_top_of_it(api: Api) -> None:
    api.import_sessions(
        {
            "id": "s",
            "agent": "a@example.com",
            "start": "2026-11-02T10:00:00Z",
            "end": "2026-11-02T11:00:00Z",
            "viewers": [
                {"id": "v", "joined": "2026-11-02T10:10:00Z", "left": "2026-11-02T10:50:00Z"},
                {
                    "id": "w",
                    "joined": "2026-11-02T10:10:00Z",
                    "left": "2026-11-02T10:20:00Z",
                    "location": {"country": "DE"},
                },
            ],
        }
    )
    send(
        api,
        ev(1, "viewer.joined", "s", "2026-11-02T10:30:00Z", viewer="v", location={"country": "FR"}),
        ev(2, "viewer.joined", "s", "2026-11-02T10:05:00Z", viewer="w", location={"country": "IT"}),
        ev(3, "viewer.joined", "s", "2026-11-02T10:55:00Z", viewer="w"),
        ev(4, "session.ended", "s", "2026-11-02T10:58:00Z"),
        ev(5, "session.started", "s", "2026-11-02T09:00:00Z", agent="z@example.com"),
    )
    session = detail(api, "s")
    # start and agent from the earliest start, end from the latest end.
    assert (session["agent"], session["start"], session["end"]) == (
        "z@example.com",
        "2026-11-02T09:00:00Z",
        "2026-11-02T11:00:00Z",
    )
    viewers = {v["id"]: v for v in session["viewers"]["list"]}
    # v: the import's join carried no location; the later event's did.
    assert viewers["v"]["country"] == "FR"
    # w: the earliest join with a location, a later join after the leave: left is null.
    w = viewers["w"]
    assert (w["joined"], w["left"], w["country"]) == ("2026-11-02T10:05:00Z", None, "IT")
    assert w["segments"] == [
        {"joined": "2026-11-02T10:05:00Z", "left": "2026-11-02T10:20:00Z"},
        {"joined": "2026-11-02T10:55:00Z", "left": None},
    ]
    assert w["watched_seconds"] == 1200 and w["seconds"] == 3300


def test_a_deleted_sessions_events_stay_used_and_new_ones_start_again(api: Api) -> None:
    send(
        api,
        ev(1, "session.started", "a", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev(2, "viewer.joined", "a", "2026-11-02T10:01:00Z", viewer="v"),
    )
    assert api.client.delete("/ss/api/sessions/a", headers=_write(api)).status_code == 204
    assert send(api, ev(1, "session.started", "a", "2026-11-02T10:00:00Z", agent="a@x.com")) == {
        "received": 1,
        "accepted": 0,
        "duplicates": 1,
    }
    assert api.get("/ss/api/sessions/a").status_code == 404
    send(api, ev(3, "session.started", "a", "2026-11-02T11:00:00Z", agent="b@example.com"))
    session = detail(api, "a")
    assert (session["agent"], session["start"]) == ("b@example.com", "2026-11-02T11:00:00Z")
    assert session["viewers"]["count"] == 0
    changes = api.get("/ss/api/changes").json()["changes"]
    assert [(c["id"], c["change"]) for c in changes] == [("a", "updated")]


def test_usage_new_while_a_session_goes_on(api: Api) -> None:
    send(api, ev(1, "session.started", "s", "2026-11-02T10:00:00Z", agent="A@Example.com"))
    response = api.get("/ss/api/usage_new", params=WINDOW)
    assert response.status_code == 200, response.text
    [session] = response.json()["sessions"]
    assert session["end_date"] is None and session["session_ended"] is False
    assert session["email"] == "a@example.com" and session["agent_name"] is None
    assert session["duration"] > 0


def _write(api: Api) -> dict[str, str]:
    return {"Authorization": f"Basic {api.tenant.write_key}"}


def test_webhook_messages_of_imports_and_deletion(
    client: TestClient, db: Database, tenant: Tenant, api: Api
) -> None:
    client.app.state.webhook_resolver = fake_resolver  # type: ignore[attr-defined]
    key = admin_key(db, tenant.account_id)
    created = client.post(
        "/ss/api/webhooks",
        json={"url": "https://public.example/hook", "events": ["*"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.status_code == 201, created.text
    body = {"id": "y", "agent": "a@example.com", "start": "2026-11-01"}
    api.import_sessions({**body, "end": "2026-11-01T01:00:00Z"})  # started, updated, ended
    api.import_sessions({**body, "end": None})  # updated
    api.import_sessions({**body, "end": "2026-11-01T02:00:00Z"})  # updated, ended again
    assert api.client.delete("/ss/api/sessions/y", headers=_write(api)).status_code == 204
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, type FROM webhook_messages WHERE type != 'webhook.test'")
        ).all()
    by_seq: dict[int, set[str]] = {}
    for seq, kind in rows:
        by_seq.setdefault(int(seq), set()).add(kind)
    assert [by_seq[s] for s in sorted(by_seq)] == [
        {"session.started", "session.updated", "session.ended"},
        {"session.updated"},
        {"session.updated", "session.ended"},
        {"session.deleted"},
    ]
