"""GET /ss/api/changes and DELETE /ss/api/sessions/{id}: the change feed's rules."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.conftest import Api, Tenant, session_body

MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def feed(api: Api, **params: object) -> dict[str, Any]:
    response = api.get("/ss/api/changes", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"changes", "next", "has_more"}
    return body


def follow(
    api: Api, since: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    """Every change from ``since`` to the end, page by page."""
    seen: list[dict[str, Any]] = []
    while True:
        params: dict[str, object] = {"limit": limit}
        if since is not None:
            params["since"] = since
        page = feed(api, **params)
        seen += page["changes"]
        since = page["next"]
        if not page["has_more"]:
            return seen, since


def delete(api: Api, sid: str) -> int:
    return api.client.delete(
        f"/ss/api/sessions/{sid}", headers={"Authorization": f"Basic {api.tenant.write_key}"}
    ).status_code


def test_the_feed_starts_with_every_session_in_seq_order(api: Api) -> None:
    api.import_sessions(
        *(session_body(f"s-{i}", start=f"2026-11-0{i}T10:00:00Z", end=None) for i in (3, 1, 2))
    )
    changes, _ = follow(api)
    assert [c["id"] for c in changes] == ["s-3", "s-1", "s-2"]
    seqs = [c["seq"] for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert all(c["change"] == "updated" for c in changes)


def test_a_session_changed_many_times_appears_once_at_its_latest_seq(api: Api) -> None:
    api.import_sessions(session_body("a"), session_body("b"))
    first, since = follow(api)
    for minute in range(10, 20):
        api.post(
            "/ss/api/events",
            json={
                "events": [
                    {
                        "id": f"e-{minute}",
                        "type": "viewer.joined",
                        "session": "a",
                        "at": f"2026-11-02T10:{minute}:00Z",
                        "viewer": f"v-{minute}",
                    }
                ]
            },
        )
    again, _ = follow(api, since)
    assert [c["id"] for c in again] == ["a"]
    assert again[0]["seq"] > max(c["seq"] for c in first)
    assert again[0]["session"]["viewers"]["count"] == 10
    # From the start, still once each, "a" now after "b".
    assert [c["id"] for c in follow(api)[0]] == ["b", "a"]


def test_the_session_is_the_detail_object_with_microseconds(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            start="2026-11-02T10:00:00.250000Z",
            end="2026-11-02T10:30:00.5Z",
            shares=[{"at": "2026-11-02T10:00:03.123456Z", "type": "screen"}],
            viewers=[{"id": "v", "joined": "2026-11-02T10:01:00.000001Z", "left": None}],
        )
    )
    [change], _ = follow(api)
    session = change["session"]
    assert MICROS.match(change["changed"])
    assert session["start"] == "2026-11-02T10:00:00.250000Z"
    assert session["end"] == "2026-11-02T10:30:00.500000Z"
    assert session["duration"] == 1800
    assert session["shares"][0]["at"] == "2026-11-02T10:00:03.123456Z"
    [viewer] = session["viewers"]["list"]
    assert viewer["joined"] == "2026-11-02T10:01:00.000001Z" and viewer["left"] is None
    assert session["viewers"]["count"] == 1


def test_limit_cuts_pages_without_skip_or_repeat(api: Api) -> None:
    api.import_sessions(*(session_body(f"s-{i:02d}") for i in range(25)))
    page = feed(api, limit=10)
    assert len(page["changes"]) == 10 and page["has_more"] is True
    changes, end = follow(api, limit=7)
    assert sorted(c["id"] for c in changes) == [f"s-{i:02d}" for i in range(25)]
    tail = feed(api, since=end)
    assert tail["changes"] == [] and tail["has_more"] is False and tail["next"] == end


def test_a_deletion_is_a_tombstone_and_a_new_session_replaces_it(api: Api) -> None:
    api.import_sessions(session_body("keep"), session_body("gone"))
    _, since = follow(api)
    assert delete(api, "gone") == 204
    assert delete(api, "gone") == 404
    assert api.get("/ss/api/sessions/gone").status_code == 404
    [tomb], since2 = follow(api, since)
    assert tomb["id"] == "gone" and tomb["change"] == "deleted" and tomb["session"] is None
    assert MICROS.match(tomb["changed"])
    # From the start, the deleted session shows only as its tombstone.
    assert [(c["id"], c["change"]) for c in follow(api)[0]] == [
        ("keep", "updated"),
        ("gone", "deleted"),
    ]
    api.import_sessions(session_body("gone", agent="carol@example.com"))
    [back], _ = follow(api, since2)
    assert back["change"] == "updated" and back["session"]["agent"] == "carol@example.com"
    assert [c["change"] for c in follow(api)[0]] == ["updated", "updated"]


def test_deleted_session_event_ids_stay_used_and_new_events_start_afresh(api: Api) -> None:
    def post(*events: dict[str, Any]) -> dict[str, Any]:
        response = api.post("/ss/api/events", json={"events": list(events)})
        assert response.status_code == 200, response.text
        return response.json()

    started = {"type": "session.started", "session": "s", "agent": "a@x.io"}
    post({"id": "e1", "at": "2026-11-02T10:00:00Z", **started})
    assert delete(api, "s") == 204
    assert post({"id": "e1", "at": "2026-11-02T10:00:00Z", **started})["duplicates"] == 1
    assert api.get("/ss/api/sessions/s").status_code == 404
    post({"id": "e2", "at": "2026-11-02T11:00:00Z", **started})
    assert api.get("/ss/api/sessions/s").json()["start"] == "2026-11-02T11:00:00Z"


def test_a_session_without_a_start_is_not_listed_until_it_has_one(api: Api) -> None:
    def post(event: dict[str, Any]) -> None:
        assert api.post("/ss/api/events", json={"events": [event]}).status_code == 200

    post(
        {
            "id": "j",
            "type": "viewer.joined",
            "session": "s",
            "at": "2026-11-02T10:01:00Z",
            "viewer": "v",
        }
    )
    assert follow(api)[0] == []
    post(
        {
            "id": "st",
            "type": "session.started",
            "session": "s",
            "at": "2026-11-02T10:00:00Z",
            "agent": "a@x.io",
        }
    )
    [change] = follow(api)[0]
    assert change["session"]["viewers"]["count"] == 1


def test_reads_and_deletes_need_the_right_scope(api: Api) -> None:
    api.import_sessions(session_body("s"))
    read = {"Authorization": f"Basic {api.tenant.read_key}"}
    assert api.client.delete("/ss/api/sessions/s", headers=read).status_code == 403
    assert api.client.get("/ss/api/changes").status_code == 401
    assert api.client.delete("/ss/api/sessions/s").status_code == 401


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"wait": "31"}, "wait"),
        ({"wait": "-1"}, "wait"),
        ({"wait": "soon"}, "wait"),
        ({"since": "nonsense"}, "since"),
        ({"since": ""}, "since"),
        ({"limit": ["1", "2"]}, "limit"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    api: Api, params: dict[str, Any], parameter: str
) -> None:
    response = api.get("/ss/api/changes", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "invalid_parameter",
        "message": response.json()["error"]["message"],
        "parameter": parameter,
    }


def test_a_token_is_bound_to_its_account(api: Api, other_tenant: Tenant) -> None:
    api.import_sessions(session_body("s"))
    token = feed(api)["next"]
    other = Api(api.client, other_tenant)
    response = other.get("/ss/api/changes", params={"since": token})
    assert response.status_code == 400 and response.json()["error"]["parameter"] == "since"
    # A usage cursor is no change token, nor the other way round.
    api.import_sessions(session_body("t"))
    cursor = api.usage(limit=1, **{"from": "2026-11-01", "to": "2026-11-30"})["next_cursor"]
    assert api.get("/ss/api/changes", params={"since": cursor}).status_code == 400
    assert api.get("/ss/api/usage", params={"cursor": token}).status_code == 400


def test_a_long_poll_wakes_on_a_commit(api: Api) -> None:
    api.import_sessions(session_body("first"))
    since = feed(api)["next"]
    timer = threading.Timer(0.5, lambda: api.import_sessions(session_body("second")))
    started = time.monotonic()
    timer.start()
    page = feed(api, since=since, wait=10)
    elapsed = time.monotonic() - started
    timer.join()
    assert [c["id"] for c in page["changes"]] == ["second"]
    assert 0.4 < elapsed < 5


def test_a_long_poll_with_nothing_new_answers_empty_after_the_wait(api: Api) -> None:
    since = feed(api)["next"]
    started = time.monotonic()
    page = feed(api, since=since, wait=0.5)
    assert page == {"changes": [], "next": since, "has_more": False}
    assert time.monotonic() - started >= 0.45


def test_a_position_older_than_the_kept_tombstones_is_410(api: Api, db: Database) -> None:
    api.import_sessions(session_body("a"), session_body("b"))
    since = feed(api)["next"]
    assert delete(api, "a") == 204
    after_delete = feed(api, since=since)["next"]
    remover = api.client.app.state.remover  # type: ignore[attr-defined]
    # Tombstones older than 0 days, a moment from now: all of them.
    assert remover.sweep(tombstone_days=0, at_us=now_us() + 1).tombstones_pruned == 1
    response = api.get("/ss/api/changes", params={"since": since})
    assert response.status_code == 410 and response.json()["error"]["code"] == "gone"
    assert feed(api, since=after_delete)["changes"] == []
    # Starting again from the beginning works, without the pruned deletion.
    assert [c["id"] for c in follow(api)[0]] == ["b"]


def admin_key(db: Database, tenant: Tenant) -> str:
    with db.writing() as conn:
        return account_store.create_key(conn, tenant.account_id, Scope.ADMIN, now_us())
