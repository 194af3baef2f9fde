"""Viewer segments, peak viewers, webcam seconds, agent names and browsers (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.documents import WINDOW
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def ev(eid: str, kind: str, at: str, **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": kind, "session": "s-1", "at": f"2026-11-02T{at}Z", **extra}


def post(api: Api, *events: dict[str, Any]) -> None:
    response = api.post("/ss/api/events", json={"events": list(events)})
    assert response.status_code == 200, response.text


def detail(api: Api) -> dict[str, Any]:
    response = api.get("/ss/api/sessions/s-1")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_viewer_who_leaves_and_comes_back_has_two_segments(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com", agent_name="Alice"),
        ev("e2", "viewer.joined", "10:01:00", viewer="v", user_agent=CHROME_WINDOWS),
        ev("e3", "viewer.left", "10:05:00", viewer="v"),
        ev("e4", "viewer.joined", "10:10:00", viewer="v"),
        ev("e5", "viewer.joined", "10:12:00", viewer="v"),  # while watching: nothing
        ev("e6", "viewer.left", "10:20:30", viewer="v"),
        ev("e7", "viewer.left", "10:25:00", viewer="v"),  # while not watching: nothing
        ev("e8", "session.ended", "10:30:00"),
    )
    [v] = detail(api)["viewers"]["list"]
    assert v["segments"] == [
        {"joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:05:00Z"},
        {"joined": "2026-11-02T10:10:00Z", "left": "2026-11-02T10:20:30Z"},
    ]
    assert v["watched_seconds"] == 240 + 630
    # joined and left keep the events section's rules.
    assert (v["joined"], v["left"]) == ("2026-11-02T10:01:00Z", "2026-11-02T10:25:00Z")
    assert (v["browser"], v["os"], v["device"]) == ("Chrome", "Windows", "desktop")


def test_peak_counts_a_leave_before_a_join_at_the_same_instant(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com"),
        ev("e2", "viewer.joined", "10:01:00", viewer="a"),
        ev("e3", "viewer.left", "10:10:00", viewer="a"),
        ev("e4", "viewer.joined", "10:10:00", viewer="b"),  # a hand-over: never two at once
        ev("e5", "viewer.joined", "10:15:00", viewer="c"),
        ev("e6", "viewer.joined", "10:16:00", viewer="d"),
        ev("e7", "viewer.left", "10:16:00", viewer="c"),
    )
    document = detail(api)
    assert document["viewers"]["peak"] == 2
    [listed] = api.usage(**WINDOW)["sessions"]
    assert listed["viewers"]["peak"] == 2 and listed["viewers"]["count"] == 4
    # Open segments of an ongoing session: still watching.
    d = next(v for v in document["viewers"]["list"] if v["id"] == "d")
    assert d["segments"] == [{"joined": "2026-11-02T10:16:00Z", "left": None}]


def test_the_session_end_closes_open_segments_for_the_peak(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com"),
        ev("e2", "viewer.joined", "10:01:00", viewer="a"),
        ev("e3", "viewer.joined", "10:40:00", viewer="b"),
    )
    assert detail(api)["viewers"]["peak"] == 2
    # An end that arrives later stops a's open segment before b joined.
    post(api, ev("e4", "session.ended", "10:30:00"))
    document = detail(api)
    assert document["viewers"]["peak"] == 1
    a = next(v for v in document["viewers"]["list"] if v["id"] == "a")
    assert a["watched_seconds"] == 29 * 60


def test_webcam_pairs_and_an_open_one_runs_to_the_end(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com"),
        ev("w1", "webcam.started", "10:02:00"),
        ev("w2", "webcam.stopped", "10:03:30"),
        ev("w3", "webcam.stopped", "10:04:00"),  # not on: nothing
        ev("w4", "webcam.started", "10:25:00"),
        ev("e9", "session.ended", "10:30:00"),
    )
    assert detail(api)["webcam_seconds"] == 90 + 300
    [listed] = api.usage(**WINDOW)["sessions"]
    assert listed["webcam_seconds"] == 390


def test_the_agent_name_is_the_one_last_received(api: Api) -> None:
    post(api, ev("e1", "session.started", "10:00:00", agent="a@example.com", agent_name="Al"))
    assert detail(api)["agent_name"] == "Al"
    # Received later, though earlier in time: its name wins, its agent does not.
    post(
        api,
        ev("e0", "session.started", "09:59:00", agent="b@example.com", agent_name="Alice Example"),
    )
    document = detail(api)
    assert (document["agent"], document["agent_name"]) == ("b@example.com", "Alice Example")
    post(api, ev("e2", "session.started", "10:01:00", agent="a@example.com"))  # no name: kept
    assert detail(api)["agent_name"] == "Alice Example"


def test_user_agents_give_browser_os_and_device(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com"),
        ev("e2", "viewer.joined", "10:01:00", viewer="phone", user_agent=SAFARI_IPHONE),
        ev("e3", "viewer.joined", "10:01:00", viewer="pad", user_agent=SAFARI_IPAD),
        ev("e4", "viewer.joined", "10:01:00", viewer="bot", user_agent=GOOGLEBOT),
        ev("e5", "viewer.joined", "10:01:00", viewer="curl", user_agent="curl/8.4.0"),
        ev("e6", "viewer.joined", "10:01:00", viewer="none"),
    )
    found = {v["id"]: (v["browser"], v["os"], v["device"]) for v in detail(api)["viewers"]["list"]}
    assert found == {
        "phone": ("Mobile Safari", "iOS", "mobile"),
        "pad": ("Mobile Safari", "iOS", "tablet"),
        "bot": ("Googlebot", None, "bot"),
        "curl": ("curl", None, "other"),
        "none": (None, None, None),
    }


def test_an_import_carries_segments_names_webcam_and_user_agents(api: Api) -> None:
    api.import_sessions(
        session_body(
            agent_name="Alice Example",
            webcam_seconds=120,
            viewers=[
                {
                    "id": "v-1",
                    "joined": "2026-11-02T10:01:00Z",
                    "left": "2026-11-02T10:20:00Z",
                    "user_agent": SAFARI_IPHONE,
                    # Any order; touching segments stay two.
                    "segments": [
                        {"joined": "2026-11-02T10:10:00Z", "left": "2026-11-02T10:20:00Z"},
                        {"joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:10:00Z"},
                    ],
                },
                {"id": "v-2", "joined": "2026-11-02T10:09:00Z", "left": "2026-11-02T10:11:00Z"},
                {
                    "id": "v-3",
                    "joined": "2026-11-02T10:25:00Z",
                    "segments": [{"joined": "2026-11-02T10:25:00Z", "left": None}],
                },
            ],
        )
    )
    document = detail(api)
    assert document["agent_name"] == "Alice Example"
    assert document["webcam_seconds"] == 120
    assert document["viewers"]["peak"] == 2
    v1, v2, v3 = document["viewers"]["list"]
    assert [s["joined"][11:16] for s in v1["segments"]] == ["10:01", "10:10"]
    assert (v1["browser"], v1["device"]) == ("Mobile Safari", "mobile")
    assert v2["segments"] == [{"joined": "2026-11-02T10:09:00Z", "left": "2026-11-02T10:11:00Z"}]
    assert v3["watched_seconds"] == 300  # open: runs to the session's end
    # Events received after an import add to it.
    post(
        api,
        ev("w1", "webcam.started", "10:28:00"),
        ev("w2", "webcam.stopped", "10:29:00"),
        ev("j1", "viewer.joined", "10:15:00", viewer="v-2"),
    )
    document = detail(api)
    assert document["webcam_seconds"] == 180
    assert document["viewers"]["peak"] == 2
    [row] = [
        r
        for r in api.get("/ss/api/usage", params={**WINDOW, "format": "csv"}).text.split("\n")[1:]
        if r
    ]
    assert row.endswith(",2,Alice Example")


@pytest.mark.parametrize(
    ("viewer", "field"),
    [
        (
            {
                "segments": [
                    {"joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:10:00Z"},
                    {"joined": "2026-11-02T10:09:00Z", "left": "2026-11-02T10:12:00Z"},
                ]
            },
            "sessions[0].viewers[0].segments",
        ),
        (
            {
                "segments": [
                    {"joined": "2026-11-02T10:01:00Z", "left": None},
                    {"joined": "2026-11-02T10:09:00Z", "left": "2026-11-02T10:12:00Z"},
                ]
            },
            "sessions[0].viewers[0].segments",
        ),
        (
            {"segments": [{"joined": "2026-11-02T10:05:00Z", "left": "2026-11-02T10:04:00Z"}]},
            "sessions[0].viewers[0].segments[0].left",
        ),
        (
            {
                "segments": [
                    {"joined": f"2026-11-02T10:00:{i // 20:02d}.{i % 20:02d}Z"} for i in range(1001)
                ]
            },
            "sessions[0].viewers[0].segments",
        ),
        ({"user_agent": "u" * 1001}, "sessions[0].viewers[0].user_agent"),
        ({"segments": "all of them"}, "sessions[0].viewers[0].segments"),
    ],
)
def test_bad_imported_viewers_are_400s_that_write_nothing(
    api: Api, viewer: dict[str, Any], field: str
) -> None:
    body = session_body(viewers=[{"id": "v", "joined": "2026-11-02T10:01:00Z", **viewer}])
    response = api.post("/ss/api/sessions", json=body)
    assert_error(response, 400, field)
    assert api.get("/ss/api/sessions/s-1").status_code == 404


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"agent_name": "n" * 201}, "sessions[0].agent_name"),
        ({"agent_name": 7}, "sessions[0].agent_name"),
        ({"webcam_seconds": -1}, "sessions[0].webcam_seconds"),
        ({"webcam_seconds": "12"}, "sessions[0].webcam_seconds"),
    ],
)
def test_bad_imported_sessions_are_400s(api: Api, extra: dict[str, Any], field: str) -> None:
    response = api.post("/ss/api/sessions", json=session_body(**extra))
    assert_error(response, 400, field)


def test_the_limits_themselves_are_accepted(api: Api) -> None:
    api.import_sessions(
        session_body(
            agent_name="n" * 200,
            viewers=[
                {
                    "id": "v",
                    "joined": "2026-11-02T10:00:00Z",
                    "user_agent": "u" * 1000,
                    "segments": [
                        {"joined": f"2026-11-02T10:{i // 60:02d}:{i % 60:02d}Z"}
                        if i == 999
                        else {
                            "joined": f"2026-11-02T10:{i // 60:02d}:{i % 60:02d}Z",
                            "left": f"2026-11-02T10:{i // 60:02d}:{i % 60:02d}.5Z",
                        }
                        for i in range(1000)
                    ],
                }
            ],
        )
    )
    document = detail(api)
    assert len(document["agent_name"]) == 200
    assert len(document["viewers"]["list"][0]["segments"]) == 1000


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"type": "session.started", "agent": "a@b.co", "agent_name": "n" * 201}, "agent_name"),
        ({"type": "viewer.joined", "viewer": "v", "user_agent": "u" * 1001}, "user_agent"),
        ({"type": "viewer.joined", "viewer": "v", "user_agent": 5}, "user_agent"),
        ({"type": "webcam.paused"}, "type"),
    ],
)
def test_bad_events_are_400s_naming_the_field(api: Api, extra: dict[str, Any], field: str) -> None:
    good = ev("e1", "session.started", "10:00:00", agent="a@b.co")
    bad = {"id": "e2", "session": "s-1", "at": "2026-11-02T10:00:00Z", **extra}
    response = api.post("/ss/api/events", json={"events": [good, bad]})
    assert_error(response, 400, f"events[1].{field}")
    assert api.get("/ss/api/sessions/s-1").status_code == 404


def test_usage_clients_counts_browsers_and_the_highest_peak(api: Api) -> None:
    post(
        api,
        ev("e1", "session.started", "10:00:00", agent="a@example.com"),
        ev("e2", "viewer.joined", "10:01:00", viewer="a", user_agent=SAFARI_IPHONE),
        ev("e3", "viewer.joined", "10:02:00", viewer="b", user_agent=SAFARI_IPAD),
        ev("e4", "viewer.joined", "10:03:00", viewer="c", user_agent=CHROME_WINDOWS),
        ev("e5", "viewer.joined", "10:04:00", viewer="d"),
    )
    response = api.get("/ss/api/usage/clients", params=WINDOW)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "peak": 4,
        "browsers": [
            {"name": "Mobile Safari", "count": 2},
            {"name": "Chrome", "count": 1},
            {"name": None, "count": 1},
        ],
        "systems": [
            {"name": "iOS", "count": 2},
            {"name": "Windows", "count": 1},
            {"name": None, "count": 1},
        ],
        "devices": [
            {"name": "desktop", "count": 1},
            {"name": "mobile", "count": 1},
            {"name": "tablet", "count": 1},
            {"name": None, "count": 1},
        ],
    }
    other_window = api.get(
        "/ss/api/usage/clients", params={"from": "2026-12-01", "to": "2026-12-02"}
    )
    assert other_window.json()["peak"] == 0 and other_window.json()["browsers"] == []


def test_an_imports_null_webcam_seconds_is_none_given(api: Api) -> None:
    api.import_sessions(session_body(webcam_seconds=None, agent_name=None))
    document = detail(api)
    assert document["webcam_seconds"] == 0 and document["agent_name"] is None
    bad = api.client.post(
        "/ss/api/sessions",
        json=session_body(webcam_seconds="12"),
        headers={"Authorization": f"Basic {api.tenant.write_key}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["parameter"].endswith("webcam_seconds")
