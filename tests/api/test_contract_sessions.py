"""POST /ss/api/sessions and GET /ss/api/sessions/{id}: validation, replacement, viewers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.documents import without_segments
from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def post_error(api: Api, body: Any) -> dict[str, Any]:
    response = api.post("/ss/api/sessions", json=body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    return error


def test_single_object_form_is_accepted(api: Api) -> None:
    response = api.post("/ss/api/sessions", json=session_body())
    assert response.json() == {"received": 1, "created": 1, "replaced": 0}
    assert api.get("/ss/api/sessions/s-1").status_code == 200


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"id": ""}, "sessions[0].id"),
        ({"id": "has space"}, "sessions[0].id"),
        ({"id": "x" * 129}, "sessions[0].id"),
        ({"id": 7}, "sessions[0].id"),
        ({"agent": "not-an-email"}, "sessions[0].agent"),
        ({"agent": None}, "sessions[0].agent"),
        ({"start": "later"}, "sessions[0].start"),
        ({"end": "2026-11-02T09:59:59Z"}, "sessions[0].end"),
        ({"shares": [{"type": "screen"}]}, "sessions[0].shares[0].at"),
        ({"shares": [{"at": "2026-11-02", "type": "tv"}]}, "sessions[0].shares[0].type"),
        (
            {"shares": [{"at": "2026-11-02", "type": "tab", "title": "t" * 1001}]},
            "sessions[0].shares[0].title",
        ),
        (
            {"shares": [{"at": "2026-11-02", "type": "tab", "url": "u" * 2049}]},
            "sessions[0].shares[0].url",
        ),
        ({"shares": [{"at": "2026-11-02", "type": "tab"}] * 1001}, "sessions[0].shares"),
        ({"viewers": [{"id": "v"}]}, "sessions[0].viewers[0].joined"),
        (
            {
                "viewers": [
                    {"id": "v", "joined": "2026-11-02T10:05:00Z", "left": "2026-11-02T10:04:00Z"}
                ]
            },
            "sessions[0].viewers[0].left",
        ),
        (
            {"viewers": [{"id": "v", "joined": "2026-11-02"}, {"id": "v", "joined": "2026-11-02"}]},
            "sessions[0].viewers[1].id",
        ),
        (
            {"viewers": [{"id": "v", "joined": "2026-11-02", "location": {"country": "Iceland"}}]},
            "sessions[0].viewers[0].location.country",
        ),
        ({"viewers": "none"}, "sessions[0].viewers"),
    ],
)
def test_the_first_bad_field_is_named_and_nothing_is_written(
    api: Api, change: dict[str, Any], parameter: str
) -> None:
    good = session_body("good")
    bad = {**session_body("bad"), **change}
    error = post_error(api, {"sessions": [good, bad]})
    assert error["parameter"] == parameter.replace("sessions[0]", "sessions[1]")
    assert api.usage(**WINDOW)["sessions"] == []
    # The single-object form names the same path under sessions[0].
    assert post_error(api, bad)["parameter"] == parameter


def test_missing_required_fields_are_named_in_order(api: Api) -> None:
    assert post_error(api, {"agent": "a@b.co"})["parameter"] == "sessions[0].id"
    assert post_error(api, {"id": "x"})["parameter"] == "sessions[0].agent"
    assert post_error(api, {"id": "x", "agent": "a@b.co"})["parameter"] == "sessions[0].start"


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_named_body(api: Api, body: Any) -> None:
    assert post_error(api, body)["parameter"] == "body"


def test_not_json_is_named_body(api: Api) -> None:
    response = api.post("/ss/api/sessions", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "body"


def test_batch_size_is_1_to_1000(api: Api) -> None:
    assert post_error(api, {"sessions": []})["parameter"] == "sessions"
    many = [session_body(f"s{i}") for i in range(1001)]
    assert post_error(api, {"sessions": many})["parameter"] == "sessions"
    exactly = [session_body(f"s{i}") for i in range(1000)]
    assert api.import_sessions(*exactly)["created"] == 1000


def test_posting_twice_replaces_and_leaves_the_same_state(api: Api) -> None:
    body = session_body(
        shares=[{"at": "2026-11-02T10:00:03Z", "type": "screen", "title": "Entire screen"}],
        viewers=[
            {
                "id": "v-1",
                "joined": "2026-11-02T10:01:00Z",
                "left": None,
                "location": {"country": "IS"},
            }
        ],
    )
    assert api.import_sessions(body) == {"received": 1, "created": 1, "replaced": 0}
    first = api.get("/ss/api/sessions/s-1").json()
    assert api.import_sessions(body) == {"received": 1, "created": 0, "replaced": 1}
    assert api.get("/ss/api/sessions/s-1").json() == first
    changed = {**body, "agent": "bob@example.com", "shares": [], "viewers": []}
    assert api.import_sessions(changed, session_body("s-2")) == {
        "received": 2,
        "created": 1,
        "replaced": 1,
    }
    replaced = api.get("/ss/api/sessions/s-1").json()
    assert (replaced["agent"], replaced["shares"], replaced["viewers"]["count"]) == (
        "bob@example.com",
        [],
        0,
    )


def test_a_later_duplicate_in_one_request_replaces_the_earlier(api: Api) -> None:
    result = api.import_sessions(
        session_body("d", agent="first@example.com"), session_body("d", agent="last@example.com")
    )
    assert result == {"received": 2, "created": 1, "replaced": 0}
    assert api.get("/ss/api/sessions/d").json()["agent"] == "last@example.com"


def test_session_detail_lists_viewers_with_seconds(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                {
                    "id": "late",
                    "joined": "2026-11-02T10:20:00Z",
                    "left": None,
                    "location": {"country": "US"},
                },
                {"id": "b", "joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:02:30.900Z"},
                {
                    "id": "a",
                    "joined": "2026-11-02T10:01:00Z",
                    "left": "2026-11-02T10:11:00Z",
                    "ip": "127.0.0.1",
                },
            ]
        )
    )
    document = api.get("/ss/api/sessions/s-1").json()
    assert document["duration"] == 1800 and document["viewers"]["count"] == 3
    assert [without_segments(v) for v in document["viewers"]["list"]] == [
        {
            "id": "a",
            "joined": "2026-11-02T10:01:00Z",
            "left": "2026-11-02T10:11:00Z",
            "seconds": 600,
            "country": None,
            "region": None,
            "city": None,
        },
        {
            "id": "b",
            "joined": "2026-11-02T10:01:00Z",
            "left": "2026-11-02T10:02:30Z",
            "seconds": 90,
            "country": None,
            "region": None,
            "city": None,
        },
        # Still watching: runs to the session's end.
        {
            "id": "late",
            "joined": "2026-11-02T10:20:00Z",
            "left": None,
            "seconds": 600,
            "country": "US",
            "region": None,
            "city": None,
        },
    ]


def test_viewer_of_an_ongoing_session_runs_to_now(api: Api) -> None:
    start = int(time.time()) - 600
    api.import_sessions(
        session_body(start=str(start), end=None, viewers=[{"id": "v", "joined": str(start + 100)}])
    )
    [viewer] = api.get("/ss/api/sessions/s-1").json()["viewers"]["list"]
    assert 499 <= viewer["seconds"] <= 560


def test_an_explicit_location_wins_over_the_ip(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                {
                    "id": "v",
                    "joined": "2026-11-02T10:01:00Z",
                    "ip": "8.8.8.8",
                    "location": {"country": "is", "city": "Reykjavik"},
                }
            ]
        )
    )
    [viewer] = api.get("/ss/api/sessions/s-1").json()["viewers"]["list"]
    assert (viewer["country"], viewer["city"]) == ("IS", "Reykjavik")


def test_an_unknown_session_is_404(api: Api, other_tenant: Any) -> None:
    Api(api.client, other_tenant).import_sessions(session_body("theirs"))
    for sid in ("nope", "theirs"):
        response = api.get(f"/ss/api/sessions/{sid}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
