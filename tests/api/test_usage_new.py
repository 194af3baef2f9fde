"""GET /ss/api/usage_new: CrankWheel's newer usage shape."""

from __future__ import annotations

import time
from typing import Any

from tests.api.documents import WINDOW, meeting
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body


def usage_new(api: Api, **kwargs: Any) -> dict[str, Any]:
    response = api.get("/ss/api/usage_new", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = response.json()
    return document


def viewer(n: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"v-{n}", "joined": "2026-11-02T10:01:00Z", **extra}


def test_the_contracts_example(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1001",
            agent_name="Alice Example",
            viewers=[
                viewer(1, ip="8.8.8.8", left="2026-11-02T10:29:00Z"),
                viewer(
                    2, location={"country": "IS", "region": "Capital Region", "city": "Reykjavik"}
                ),
            ],
        )
    )
    assert usage_new(api, params=WINDOW) == {
        "sessions": [
            {
                "session_id": "s-1001",
                "email": "alice@example.com",
                "agent_name": "Alice Example",
                "start_date": "2026-11-02T10:00:00Z",
                "end_date": "2026-11-02T10:30:00Z",
                "duration": 1800,
                "session_ended": True,
                "webcam_s": 0,
                "viewer_info": {
                    "viewer_count": 2,
                    "max_viewer_count": 2,
                    "locations": ["Reykjavik, Iceland", "United States*"],
                },
            }
        ]
    }


def test_locations_follow_usage_order_and_skip_the_unknown(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                viewer(1, location={"country": "DE"}),
                viewer(2, location={"country": "DE"}),
                viewer(3, location={"country": "IS", "region": "Capital Region"}),
                viewer(4, location={"country": "GB", "city": "London"}),
                viewer(5),  # unknown: left out
                viewer(6, ip="8.8.8.8"),  # looked up: approximate
                viewer(7, location={"country": "US"}),  # the same place, sent: exact
                viewer(8, location={"country": "XA"}),  # no ISO name: the code
            ],
        )
    )
    [session] = usage_new(api, params=WINDOW)["sessions"]
    assert session["viewer_info"]["locations"] == [
        "Germany",
        "United States",
        "United States*",
        "London, United Kingdom",
        "Capital Region, Iceland",
        "XA",
    ]
    assert session["viewer_info"]["viewer_count"] == 8


def test_window_agent_filter_body_form_and_ongoing_sessions(api: Api) -> None:
    now = int(time.time())
    api.import_sessions(
        meeting("a-1", "2026-11-02T10:00:00Z"),
        meeting("b-1", "2026-11-03T10:00:00Z", agent="bob@example.com"),
        meeting("a-2", "2026-11-20T10:00:00Z"),
        session_body("live", start=str(now - 100), end=None),
    )
    ids = [s["session_id"] for s in usage_new(api, params=WINDOW)["sessions"]]
    assert ids == ["a-1", "b-1"]
    only_bob = usage_new(api, params={**WINDOW, "agent": "Bob@Example.com"})
    assert [s["session_id"] for s in only_bob["sessions"]] == ["b-1"]
    body = usage_new(api, json={"from": "2026-11-20", "to": "2026-11-21"})
    assert [s["session_id"] for s in body["sessions"]] == ["a-2"]
    # The default window: the last 28 days up to now.
    recent = usage_new(api)["sessions"]
    expected = [s for s in ("a-2", "live") if s == "live" or now - 28 * 86_400 < 1_795_168_800]
    assert [s["session_id"] for s in recent] == expected
    live = recent[-1]
    assert (live["session_id"], live["end_date"], live["session_ended"]) == ("live", None, False)
    assert 99 <= live["duration"] <= 160
    # Usage's other parameters are not this endpoint's: a page size does not cut it.
    assert len(usage_new(api, params={**WINDOW, "limit": "1"})["sessions"]) == 2


def test_many_sessions_stream_whole(api: Api) -> None:
    api.import_sessions(
        *(meeting(f"s-{i:04d}", f"2026-11-02T11:{i // 60:02d}:{i % 60:02d}Z") for i in range(1000))
    )
    api.import_sessions(
        *(meeting(f"t-{i:04d}", f"2026-11-03T11:{i // 60:02d}:{i % 60:02d}Z") for i in range(500))
    )
    sessions = usage_new(api, params=WINDOW)["sessions"]
    assert len(sessions) == 1500
    assert [s["session_id"] for s in sessions] == [s["id"] for s in api.usage(**WINDOW)["sessions"]]


def test_bad_windows_and_keys(api: Api) -> None:
    assert_error(api.get("/ss/api/usage_new", params={"from": "soon"}), 400, "from")
    assert_error(
        api.get("/ss/api/usage_new", params={"from": "2026-11-02", "to": "2026-11-01"}), 400, "from"
    )
    assert_error(api.get("/ss/api/usage_new", params={"agent": "nobody"}), 400, "agent")
    assert_error(
        api.get("/ss/api/usage_new", params=[("to", "2026-11-02"), ("to", "2026-11-03")]), 400, "to"
    )
    response = api.client.get("/ss/api/usage_new")
    assert response.status_code == 401
