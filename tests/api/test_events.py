"""POST /ss/api/events: idempotent, order-free, all-or-nothing, merged with imports."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def ev(eid: str, kind: str, at: str, session: str = "s-1", **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": kind, "session": session, "at": at, **extra}


def post(api: Api, *events: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/ss/api/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def only_session(api: Api) -> dict[str, Any]:
    [session] = api.usage(**WINDOW)["sessions"]
    return session  # type: ignore[no-any-return]


def detail(api: Api, sid: str = "s-1") -> dict[str, Any]:
    response = api.get(f"/ss/api/sessions/{sid}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


LIFECYCLE = [
    ev("e1", "session.started", "2026-11-02T10:00:00Z", agent="Alice@Example.com"),
    ev("e2", "share.started", "2026-11-02T10:00:03Z", share_type="screen", title="Entire screen"),
    ev(
        "e3",
        "viewer.joined",
        "2026-11-02T10:01:00Z",
        viewer="v-1",
        location={"country": "is", "region": "Capital Region", "city": "Reykjavik"},
    ),
    ev(
        "e4",
        "share.started",
        "2026-11-02T10:12:40Z",
        share_type="tab",
        title="Pricing",
        url="https://example.com/pricing",
    ),
    ev("e5", "viewer.left", "2026-11-02T10:29:00Z", viewer="v-1"),
    ev("e6", "session.ended", "2026-11-02T10:30:00Z"),
]


def test_a_reported_session_reads_back_like_an_imported_one(api: Api) -> None:
    assert post(api, *LIFECYCLE) == {"received": 6, "accepted": 6, "duplicates": 0}
    s = only_session(api)
    assert s["agent"] == "alice@example.com"
    assert (s["start"], s["end"], s["duration"]) == (
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:30:00Z",
        1800,
    )
    assert [(x["type"], x["title"], x["url"]) for x in s["shares"]] == [
        ("screen", "Entire screen", None),
        ("tab", "Pricing", "https://example.com/pricing"),
    ]
    assert s["viewers"] == {
        "count": 1,
        "peak": 1,
        "locations": [
            {"country": "IS", "region": "Capital Region", "city": "Reykjavik", "count": 1}
        ],
    }
    [v] = detail(api)["viewers"]["list"]
    assert (v["joined"], v["left"], v["seconds"]) == (
        "2026-11-02T10:01:00Z",
        "2026-11-02T10:29:00Z",
        1680,
    )


def test_repeated_event_ids_are_duplicates_within_and_across_requests(api: Api) -> None:
    first = ev("e1", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com")
    assert post(api, first, first) == {"received": 2, "accepted": 1, "duplicates": 1}
    assert post(api, first) == {"received": 1, "accepted": 0, "duplicates": 1}
    # A repeated id with another payload is a duplicate too: the first one wins.
    changed = ev("e1", "session.started", "2026-11-02T09:00:00Z", agent="b@example.com")
    assert post(api, changed) == {"received": 1, "accepted": 0, "duplicates": 1}
    s = only_session(api)
    assert (s["agent"], s["start"]) == ("a@example.com", "2026-11-02T10:00:00Z")


def test_a_batch_of_claimed_and_new_ids_applies_only_the_new_ones(api: Api) -> None:
    # The id claim first tries every id at once and, when some were taken,
    # starts again naming the ones won: nothing of the first try may remain.
    post(api, *LIFECYCLE[:3])
    again = [
        ev("e1", "session.started", "2026-11-02T09:00:00Z", agent="b@example.com"),
        *LIFECYCLE[3:],
        ev("e2", "share.started", "2026-11-02T09:59:00Z", share_type="window", title="Again"),
        ev("e7", "viewer.joined", "2026-11-02T10:02:00Z", viewer="v-2"),
    ]
    assert post(api, *again) == {"received": 6, "accepted": 4, "duplicates": 2}
    s = only_session(api)
    assert (s["agent"], s["start"], s["end"], s["viewers"]["count"]) == (
        "alice@example.com",
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:30:00Z",
        2,
    )
    assert [x["title"] for x in s["shares"]] == ["Entire screen", "Pricing"]
    assert post(api, *LIFECYCLE, *again) == {"received": 12, "accepted": 0, "duplicates": 12}


def test_session_is_absent_until_started_and_earlier_events_then_count(api: Api) -> None:
    post(
        api,
        ev("j", "viewer.joined", "2026-11-02T10:05:00Z", viewer="v-1"),
        ev("x", "session.ended", "2026-11-02T10:20:00Z"),
    )
    assert api.usage(**WINDOW)["sessions"] == []
    assert api.get("/ss/api/sessions/s-1").status_code == 404
    post(api, ev("s", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com"))
    s = only_session(api)
    assert (s["duration"], s["viewers"]["count"]) == (1200, 1)


def test_earliest_start_gives_start_and_agent_latest_end_gives_end(api: Api) -> None:
    post(api, ev("b", "session.started", "2026-11-02T10:05:00Z", agent="late@example.com"))
    post(api, ev("e2", "session.ended", "2026-11-02T10:40:00Z"))
    post(api, ev("a", "session.started", "2026-11-02T10:00:00Z", agent="early@example.com"))
    post(api, ev("e1", "session.ended", "2026-11-02T10:30:00Z"))
    s = only_session(api)
    assert (s["agent"], s["start"], s["end"]) == (
        "early@example.com",
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:40:00Z",
    )
    assert api.usage(**WINDOW)["stats"]["per_agent"] == {
        "early@example.com": {"meetings": 1, "seconds": 2400}
    }


def test_shares_with_the_same_at_are_ordered_by_event_id(api: Api) -> None:
    at = "2026-11-02T10:10:00Z"
    post(
        api,
        ev("s", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev("share-b", "share.started", at, share_type="tab", title="B"),
        ev("share-c", "share.started", "2026-11-02T10:05:00Z", share_type="window", title="C"),
        ev("share-a", "share.started", at, share_type="other", title="A"),
    )
    assert [x["title"] for x in only_session(api)["shares"]] == ["C", "A", "B"]


def test_viewer_who_came_back_is_watching_again(api: Api) -> None:
    post(
        api,
        ev("s", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev("j2", "viewer.joined", "2026-11-02T10:20:00Z", viewer="v-1"),
        ev("l1", "viewer.left", "2026-11-02T10:10:00Z", viewer="v-1"),
        ev("j1", "viewer.joined", "2026-11-02T10:01:00Z", viewer="v-1"),
        ev("end", "session.ended", "2026-11-02T10:30:00Z"),
    )
    [v] = detail(api)["viewers"]["list"]
    # Joined at its earliest join; its latest leave came before its latest join.
    assert (v["joined"], v["left"], v["seconds"]) == ("2026-11-02T10:01:00Z", None, 1740)
    post(api, ev("l2", "viewer.left", "2026-11-02T10:25:00Z", viewer="v-1"))
    [v] = detail(api)["viewers"]["list"]
    assert v["left"] == "2026-11-02T10:25:00Z"


def test_location_comes_from_the_earliest_join_that_carries_one(api: Api) -> None:
    post(
        api,
        ev("s", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com"),
        ev("j3", "viewer.joined", "2026-11-02T10:09:00Z", viewer="v-1", location={"country": "DE"}),
        ev("j1", "viewer.joined", "2026-11-02T10:01:00Z", viewer="v-1"),
        ev(
            "j2",
            "viewer.joined",
            "2026-11-02T10:05:00Z",
            viewer="v-1",
            location={"country": "FR", "city": "Paris"},
        ),
    )
    [v] = detail(api)["viewers"]["list"]
    assert (v["country"], v["city"], v["joined"]) == ("FR", "Paris", "2026-11-02T10:01:00Z")


def test_an_import_replaces_earlier_events_and_later_events_apply_on_top(api: Api) -> None:
    post(
        api,
        ev("old-start", "session.started", "2026-11-02T09:00:00Z", agent="old@example.com"),
        ev("old-share", "share.started", "2026-11-02T09:01:00Z", share_type="tab", title="Old"),
    )
    api.import_sessions(
        session_body(end=None, shares=[{"at": "2026-11-02T10:00:01Z", "type": "screen"}])
    )
    s = only_session(api)
    assert (s["agent"], s["start"], [x["title"] for x in s["shares"]]) == (
        "alice@example.com",
        "2026-11-02T10:00:00Z",
        [""],
    )
    # Ids of the replaced events stay used.
    assert (
        post(
            api, ev("old-start", "session.started", "2026-11-02T08:00:00Z", agent="x@example.com")
        )["duplicates"]
        == 1
    )
    post(
        api,
        ev("later-start", "session.started", "2026-11-02T10:05:00Z", agent="late@example.com"),
        ev(
            "later-share", "share.started", "2026-11-02T10:06:00Z", share_type="window", title="New"
        ),
        ev("later-end", "session.ended", "2026-11-02T10:45:00Z"),
    )
    s = only_session(api)
    # The import's start stands as the earliest session.started.
    assert (s["agent"], s["start"], s["end"]) == (
        "alice@example.com",
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:45:00Z",
    )
    assert [x["title"] for x in s["shares"]] == ["", "New"]


def test_imported_viewer_stands_as_a_join_and_a_leave(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                {
                    "id": "v-1",
                    "joined": "2026-11-02T10:01:00Z",
                    "left": "2026-11-02T10:10:00Z",
                    "location": {"country": "US"},
                }
            ]
        )
    )
    post(
        api,
        ev("j", "viewer.joined", "2026-11-02T10:15:00Z", viewer="v-1", location={"country": "GB"}),
        ev("j0", "viewer.joined", "2026-11-02T10:00:30Z", viewer="v-2"),
    )
    viewers = {v["id"]: v for v in detail(api)["viewers"]["list"]}
    assert (viewers["v-1"]["joined"], viewers["v-1"]["left"], viewers["v-1"]["country"]) == (
        "2026-11-02T10:01:00Z",
        None,
        "US",
    )
    assert viewers["v-2"]["joined"] == "2026-11-02T10:00:30Z"


@pytest.mark.parametrize(
    ("event", "parameter"),
    [
        (
            {"id": "e", "type": "session.paused", "session": "s", "at": "2026-11-02"},
            "events[1].type",
        ),
        (
            {"id": "e", "type": "session.started", "session": "s", "at": "2026-11-02"},
            "events[1].agent",
        ),
        (
            {"id": "e", "type": "session.started", "session": "s", "at": "soon", "agent": "a@b.c"},
            "events[1].at",
        ),
        (
            {"id": "bad id", "type": "session.ended", "session": "s", "at": "2026-11-02"},
            "events[1].id",
        ),
        (
            {"id": "e", "type": "share.started", "session": "s", "at": "2026-11-02"},
            "events[1].share_type",
        ),
        (
            {
                "id": "e",
                "type": "share.started",
                "session": "s",
                "at": "2026-11-02",
                "share_type": "tv",
            },
            "events[1].share_type",
        ),
        (
            {"id": "e", "type": "viewer.joined", "session": "s", "at": "2026-11-02"},
            "events[1].viewer",
        ),
        (
            {"id": "e", "type": "viewer.left", "session": "s/1", "at": "2026-11-02", "viewer": "v"},
            "events[1].session",
        ),
        (
            {
                "id": "e",
                "type": "viewer.joined",
                "session": "s",
                "at": "2026-11-02",
                "viewer": "v",
                "ip": "999.1.1.1",
            },
            "events[1].ip",
        ),
        ("not an object", "events[1]"),
    ],
)
def test_an_invalid_event_is_named_and_nothing_is_written(
    api: Api, event: Any, parameter: str
) -> None:
    good = ev("good", "session.started", "2026-11-02T10:00:00Z", agent="a@example.com")
    response = api.post("/ss/api/events", json={"events": [good, event]})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["parameter"] == parameter
    assert api.usage(**WINDOW)["sessions"] == []
    # The good event's id was not used up by the refused request.
    assert post(api, good)["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "parameter"),
    [({"events": []}, "events"), ({"events": {}}, "events"), ([], "body"), ({"event": []}, "body")],
)
def test_the_events_envelope_is_checked(api: Api, body: Any, parameter: str) -> None:
    response = api.post("/ss/api/events", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter


def test_more_than_5000_events_is_a_400(api: Api) -> None:
    events = [
        ev(f"e{i}", "session.ended", "2026-11-02T10:00:00Z", session=f"s{i}") for i in range(5001)
    ]
    response = api.post("/ss/api/events", json={"events": events})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "events"


def test_a_read_key_cannot_post_events(api: Api) -> None:
    response = api.client.post(
        "/ss/api/events",
        json={"events": LIFECYCLE},
        headers={"Authorization": f"Basic {api.tenant.read_key}"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_event_ids_are_per_account(api: Api, other_tenant: Any) -> None:
    post(api, *LIFECYCLE)
    other = Api(api.client, other_tenant)
    assert post(other, *LIFECYCLE) == {"received": 6, "accepted": 6, "duplicates": 0}
    assert len(other.usage(**WINDOW)["sessions"]) == 1
