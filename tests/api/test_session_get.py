"""GET /ss/api/sessions/{id}: one session as in usage, with ``viewers.list``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.documents import without_segments
from tests.api.test_errors import assert_error
from tests.conftest import Api, Tenant, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def joined(vid: str, at: str, left: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": vid, "joined": at, "left": left, **extra}


def test_the_session_is_the_one_in_usage_plus_the_viewer_list(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            shares=[{"at": "2026-11-02T10:00:03Z", "type": "screen", "title": "Entire screen"}],
            viewers=[
                joined("v-1", "2026-11-02T10:01:00Z", "2026-11-02T10:29:00Z", ip="8.8.8.8"),
                joined(
                    "v-2",
                    "2026-11-02T10:05:00Z",
                    location={"country": "IS", "region": "Capital Region", "city": "Reykjavik"},
                ),
            ],
        )
    )
    detail = api.get("/ss/api/sessions/s-1").json()
    listed = api.usage(**WINDOW)["sessions"][0]
    viewer_list = detail["viewers"].pop("list")
    assert detail == listed
    assert [without_segments(v) for v in viewer_list] == [
        {
            "id": "v-1",
            "joined": "2026-11-02T10:01:00Z",
            "left": "2026-11-02T10:29:00Z",
            "seconds": 1680,
            "country": "US",
            "region": None,
            "city": None,
        },
        {
            "id": "v-2",
            "joined": "2026-11-02T10:05:00Z",
            "left": None,
            "seconds": 1500,  # still watching: runs to the session's end
            "country": "IS",
            "region": "Capital Region",
            "city": "Reykjavik",
        },
    ]


def test_the_list_is_ordered_by_joined_then_id(api: Api) -> None:
    viewers = [
        joined("v-b", "2026-11-02T10:05:00Z"),
        joined("v-late", "2026-11-02T10:05:00.000001Z"),
        joined("v-a", "2026-11-02T10:05:00Z"),
        joined("V-z", "2026-11-02T10:05:00Z"),
        joined("v-first", "2026-11-02T10:01:00Z"),
    ]
    api.import_sessions(session_body("s-1", viewers=viewers))
    listed = api.get("/ss/api/sessions/s-1").json()["viewers"]["list"]
    assert [v["id"] for v in listed] == ["v-first", "V-z", "v-a", "v-b", "v-late"]


@pytest.mark.parametrize(
    ("joined_at", "left_at", "seconds"),
    [
        ("2026-11-02T10:00:00.900Z", "2026-11-02T10:10:00.100Z", 599),
        ("2026-11-02T10:00:00.100Z", "2026-11-02T10:10:00.900Z", 600),
        ("2026-11-02T10:00:00.5Z", "2026-11-02T10:00:00.5Z", 0),
    ],
)
def test_seconds_is_the_floor_of_the_exact_instants(
    api: Api, joined_at: str, left_at: str, seconds: int
) -> None:
    api.import_sessions(session_body("s-1", viewers=[joined("v", joined_at, left_at)]))
    entry = api.get("/ss/api/sessions/s-1").json()["viewers"]["list"][0]
    assert entry["seconds"] == seconds
    assert entry["joined"].endswith(":00Z") and entry["left"].endswith("Z")


def test_a_viewer_still_watching_runs_to_the_sessions_exact_end(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            end="2026-11-02T10:30:00.300Z",
            viewers=[joined("v", "2026-11-02T10:00:00.400Z")],
        )
    )
    entry = api.get("/ss/api/sessions/s-1").json()["viewers"]["list"][0]
    assert (entry["left"], entry["seconds"]) == (None, 1799)


def test_a_viewer_who_joined_after_the_end_and_never_left_has_zero_seconds(api: Api) -> None:
    api.import_sessions(session_body("s-1", viewers=[joined("v", "2026-11-02T11:00:00Z")]))
    assert api.get("/ss/api/sessions/s-1").json()["viewers"]["list"][0]["seconds"] == 0


def test_in_an_ongoing_session_a_viewer_still_watching_runs_to_now(api: Api) -> None:
    started = time.time() - 600
    api.import_sessions(
        session_body(
            "live",
            start=f"{started:.6f}",
            end=None,
            viewers=[
                joined("watching", f"{started + 60:.6f}"),
                joined("gone", f"{started + 60:.6f}", f"{started + 120:.6f}"),
            ],
        )
    )
    before = time.time()
    detail = api.get("/ss/api/sessions/live").json()
    after = time.time()
    assert detail["end"] is None
    assert int(before - started) <= detail["duration"] <= int(after - started)
    by_id = {v["id"]: v for v in detail["viewers"]["list"]}
    assert int(before - started - 60) <= by_id["watching"]["seconds"] <= int(after - started - 60)
    assert by_id["gone"]["seconds"] == 60


def test_an_unknown_session_is_404_not_found(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    assert_error(api.get("/ss/api/sessions/s-2"), 404)
    assert_error(api.get("/ss/api/sessions/S-1"), 404)  # ids are case-sensitive


@pytest.mark.parametrize("sid", ["has space", "%00", "x" * 129, "%C3%A9", "..%2F..", "'; --"])
def test_an_id_no_session_can_have_is_404_not_a_500(api: Api, sid: str) -> None:
    assert_error(api.get(f"/ss/api/sessions/{sid}"), 404)


def test_another_accounts_session_is_404(
    client: TestClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    Api(client, other_tenant).import_sessions(session_body("theirs"))
    assert_error(Api(client, tenant).get("/ss/api/sessions/theirs"), 404)


def test_every_id_character_reaches_the_session(api: Api) -> None:
    sid = "Az09._:-"
    api.import_sessions(session_body(sid))
    response = api.get(f"/ss/api/sessions/{sid}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == sid


def test_locations_in_the_detail_count_the_listed_viewers(api: Api) -> None:
    viewers = [
        joined("v-1", "2026-11-02T10:01:00Z", location={"country": "US"}),
        joined("v-2", "2026-11-02T10:02:00Z", location={"country": "us"}),
        joined("v-3", "2026-11-02T10:03:00Z"),
    ]
    api.import_sessions(session_body("s-1", viewers=viewers))
    detail = api.get("/ss/api/sessions/s-1").json()["viewers"]
    assert detail["count"] == len(detail["list"]) == 3
    assert detail["locations"] == [
        {"country": "US", "region": None, "city": None, "count": 2},
        {"country": None, "region": None, "city": None, "count": 1},
    ]
    assert [v["country"] for v in detail["list"]] == ["US", "US", None]
