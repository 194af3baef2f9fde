"""Orders by code point whatever the database's collation, and segments, peak, webcam
and names as usage and a session's detail show them."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, session_body
from tests.contract.reference import (
    BASE,
    WIDE,
    events,
    started,
)

# --- Orders by code point, whatever the database's collation -------------------------

MIXED = ["b", "B", "a", "_", "-", ".", "Z", "z0", "Z0", "0"]


def test_shares_of_the_same_instant_are_ordered_by_event_id_by_code_point(api: Api) -> None:
    at = "2026-11-02T10:00:01Z"
    api.post(
        "/ss/api/events",
        json=events(
            started("start", "s", "2026-11-02T10:00:00Z"),
            *[
                {
                    "id": eid,
                    "type": "share.started",
                    "session": "s",
                    "at": at,
                    "share_type": "tab",
                    "title": eid,
                }
                for eid in MIXED
            ],
        ),
    )
    (session,) = api.usage(**WIDE)["sessions"]
    assert [s["title"] for s in session["shares"]] == sorted(MIXED)


def test_viewers_of_the_same_join_are_listed_by_id_by_code_point(api: Api) -> None:
    joined = "2026-11-02T10:01:00Z"
    api.import_sessions(session_body(viewers=[{"id": v, "joined": joined} for v in MIXED]))
    detail = api.get("/ss/api/sessions/s-1").json()
    assert [v["id"] for v in detail["viewers"]["list"]] == sorted(MIXED)


def test_sessions_of_the_same_start_are_ordered_by_id_by_code_point(api: Api) -> None:
    api.import_sessions(*[session_body(sid) for sid in MIXED])
    assert [s["id"] for s in api.usage(**WIDE)["sessions"]] == sorted(MIXED)
    paged, cursor = [], None
    while True:
        params: dict[str, Any] = {**WIDE, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.usage(**params)
        paged += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == sorted(MIXED)


def test_locations_of_the_same_count_are_ordered_by_code_point(api: Api) -> None:
    places = [
        {"country": "IS", "region": "Zed", "city": "b"},
        {"country": "IS", "region": "zed", "city": "B"},
        {"country": "IS", "region": "Ísafjörður", "city": "a"},
        {"country": "IS", "region": "zed", "city": "a"},
        {"country": "IS", "region": None, "city": "a"},
        {"country": "is", "region": "Zed", "city": None},
    ]
    api.import_sessions(
        session_body(
            viewers=[
                {"id": f"v{i}", "joined": "2026-11-02T10:01:00Z", "location": p}
                for i, p in enumerate(places)
            ]
        )
    )
    (session,) = api.usage(**WIDE)["sessions"]
    got = [(g["country"], g["region"], g["city"]) for g in session["viewers"]["locations"]]
    key = lambda t: tuple((v is None, v or "") for v in t)  # noqa: E731
    assert got == sorted(got, key=key)
    assert got[0] == ("IS", "Zed", "b") and got[-1] == ("IS", None, "a")


# --- Segments, peak, webcam and names as usage and the session show them --------------


def test_segments_watched_seconds_and_peak_from_fractional_events(api: Api) -> None:
    t = BASE

    def ev(eid: str, kind: str, at: float, **extra: object) -> dict[str, Any]:
        return {"id": eid, "type": kind, "session": "s", "at": at, **extra}

    reply = api.post(
        "/ss/api/events",
        json=events(
            started("a0", "s", t, agent="A@example.com") | {"agent_name": "First"},
            ev("a1", "viewer.joined", t + 10.5, viewer="v"),
            ev("a2", "viewer.left", t + 20.9, viewer="v"),
            ev("a3", "viewer.joined", t + 30.2, viewer="v"),
            ev("a4", "viewer.joined", t + 20.9, viewer="w"),  # joins as v leaves
            ev("a5", "viewer.left", t + 30.2, viewer="w"),
            ev("a6", "webcam.started", t + 1.9),
            ev("a7", "webcam.stopped", t + 3.8),
            ev("a8", "webcam.started", t + 39.0),
            ev("a9", "session.ended", t + 40.7),
            started("b0", "s", t + 5, agent="b@example.com") | {"agent_name": "Second"},
        ),
    )
    assert reply.json() == {"received": 11, "accepted": 11, "duplicates": 0}
    (usage,) = api.usage(**WIDE)["sessions"]
    assert usage["agent"] == "a@example.com"
    assert usage["agent_name"] == "Second"  # the one last received
    assert usage["duration"] == 40
    assert usage["viewers"]["count"] == 2
    assert usage["viewers"]["peak"] == 1  # a leave and a join at one instant: the leave first
    assert usage["webcam_seconds"] == 1 + 1  # floor(1.9) + floor(1.7), the open one to the end
    detail = api.get("/ss/api/sessions/s").json()
    v, w = detail["viewers"]["list"]
    assert v["id"] == "v" and w["id"] == "w"
    assert v["left"] is None  # came back: watching
    assert v["seconds"] == 30  # floor(40.7 - 10.5), to the session's end
    assert v["segments"] == [
        {"joined": "2026-11-02T08:00:10Z", "left": "2026-11-02T08:00:20Z"},
        {"joined": "2026-11-02T08:00:30Z", "left": None},
    ]
    assert v["watched_seconds"] == 10 + 10  # floor(10.4) + floor(10.5)
    assert w["segments"] == [{"joined": "2026-11-02T08:00:20Z", "left": "2026-11-02T08:00:30Z"}]
    assert w["watched_seconds"] == 9 and w["seconds"] == 9
