"""POST /ss/api/sessions: what is recorded, replace by id, how the body's timestamps
are read, and how viewers are located. (Refusals: test_session_post_validation.py.)"""

from __future__ import annotations

import pytest

from tests.api.documents import SHARE, post, stored, viewer
from tests.conftest import Api, session_body


def test_a_single_session_object_is_recorded(api: Api) -> None:
    response = post(api, session_body("s-1"))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "created": 1, "replaced": 0}
    assert list(stored(api)) == ["s-1"]
    assert api.get("/ss/api/sessions/s-1").status_code == 200


def test_a_batch_is_recorded_and_counted(api: Api) -> None:
    reply = api.import_sessions(*(session_body(f"s-{i}") for i in range(3)))
    assert reply == {"received": 3, "created": 3, "replaced": 0}
    assert sorted(stored(api)) == ["s-0", "s-1", "s-2"]


def test_posting_an_existing_id_replaces_it_whole(api: Api) -> None:
    api.import_sessions(session_body("s-1", shares=[SHARE], viewers=[viewer("v-1"), viewer("v-2")]))
    reply = api.import_sessions(
        session_body("s-1", agent="bob@example.com", end=None, viewers=[viewer("v-3")]),
        session_body("s-2"),
    )
    assert reply == {"received": 2, "created": 1, "replaced": 1}
    s1 = stored(api)["s-1"]
    assert (s1["agent"], s1["end"], s1["shares"]) == ("bob@example.com", None, [])
    assert [v["id"] for v in s1["viewers"]["list"]] == ["v-3"]


def test_posting_the_same_body_twice_leaves_the_same_state(api: Api) -> None:
    body = {
        "sessions": [
            session_body("s-1", shares=[SHARE], viewers=[viewer("v-1", ip="8.8.8.8")]),
            session_body("s-2", agent="Bob@Example.com", start="2026-11-03T10:00:00Z", end=None),
        ]
    }
    assert post(api, body).json() == {"received": 2, "created": 2, "replaced": 0}
    once = stored(api)
    assert post(api, body).json() == {"received": 2, "created": 0, "replaced": 2}
    twice = stored(api)
    twice["s-2"].pop("duration")  # ongoing: it keeps running
    once["s-2"].pop("duration")
    assert twice == once


def test_a_finished_session_posted_twice_is_unchanged_and_a_changed_one_replaces_it(
    api: Api,
) -> None:
    body = session_body(
        shares=[SHARE],
        viewers=[viewer("v-1", left=None, location={"country": "IS"})],
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


def test_a_later_session_with_the_same_id_in_one_request_replaces_the_earlier(api: Api) -> None:
    reply = api.import_sessions(
        session_body("s-1", agent="first@example.com", shares=[SHARE]),
        session_body("s-2"),
        session_body("s-1", agent="second@example.com"),
    )
    assert reply == {"received": 3, "created": 2, "replaced": 0}
    s1 = stored(api)["s-1"]
    assert (s1["agent"], s1["shares"]) == ("second@example.com", [])
    # Also when the two are next to each other and alone in the request.
    reply = api.import_sessions(
        session_body("d", agent="first@example.com"), session_body("d", agent="last@example.com")
    )
    assert reply == {"received": 2, "created": 1, "replaced": 0}
    assert api.get("/ss/api/sessions/d").json()["agent"] == "last@example.com"


def test_the_email_is_reported_lowercased(api: Api) -> None:
    api.import_sessions(session_body("s-1", agent="Alice.Smith@Example.COM"))
    assert stored(api)["s-1"]["agent"] == "alice.smith@example.com"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (1793613600, "2026-11-02T10:00:00Z"),
        (1793613600.75, "2026-11-02T10:00:00Z"),
        ("1793613600", "2026-11-02T10:00:00Z"),
        ("2026-11-02", "2026-11-02T00:00:00Z"),
        ("2026-11-02T11:00:00+01:00", "2026-11-02T10:00:00Z"),
        ("2026-11-02T10:00:00.999999999", "2026-11-02T10:00:00Z"),
    ],
)
def test_every_timestamp_spelling_is_read_in_the_body(
    api: Api, start: object, expected: str
) -> None:
    api.import_sessions(session_body("s-1", start=start, end=None))
    assert stored(api)["s-1"]["start"] == expected


def test_null_shares_and_viewers_mean_none(api: Api) -> None:
    assert post(api, session_body(shares=None, viewers=None)).status_code == 200
    session = api.get("/ss/api/sessions/s-1").json()
    assert (session["shares"], session["viewers"]["count"]) == ([], 0)


def test_end_may_be_null_or_equal_to_start(api: Api) -> None:
    api.import_sessions(
        session_body("open", end=None),
        session_body("instant", start="2026-11-02T10:00:00Z", end="2026-11-02T10:00:00Z"),
        {"id": "no-end", "agent": "a@example.com", "start": "2026-11-02T10:00:00Z"},
    )
    sessions = stored(api)
    assert sessions["open"]["end"] is None and sessions["no-end"]["end"] is None
    assert sessions["instant"]["duration"] == 0


@pytest.mark.parametrize("kind", ["screen", "window", "tab", "other"])
def test_every_share_type_is_accepted(api: Api, kind: str) -> None:
    api.import_sessions(session_body("s-1", shares=[{"at": "2026-11-02T10:00:00Z", "type": kind}]))
    assert stored(api)["s-1"]["shares"][0]["type"] == kind


def test_json_numbers_finer_than_a_microsecond_are_truncated_not_rounded(api: Api) -> None:
    # As a binary float, 1793613599.9999999 would be 1793613600.0: the next second.
    raw = (
        '{"id": "s-1", "agent": "a@b.co", "start": 1793613599.9999999,'
        ' "end": "1793613600.0000001", "viewers": [{"id": "v", "joined": 1793613599.99999999}]}'
    )
    response = api.post(
        "/ss/api/sessions", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    session = api.get("/ss/api/sessions/s-1").json()
    assert session["start"] == "2026-11-02T09:59:59Z"
    assert session["duration"] == 0
    assert session["viewers"]["list"][0]["joined"] == "2026-11-02T09:59:59Z"
    equal_once_truncated = (
        '{"id": "s-2", "agent": "a@b.co", "start": 1793613600.0000019, "end": "1793613600.000001"}'
    )
    response = api.post(
        "/ss/api/sessions",
        content=equal_once_truncated,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_viewer_ids_only_need_to_be_unique_within_a_session(api: Api) -> None:
    reply = api.import_sessions(
        session_body("s-1", viewers=[viewer("v-1")]), session_body("s-2", viewers=[viewer("v-1")])
    )
    assert reply["created"] == 2


# ---- where a viewer is ----


def test_a_given_location_wins_over_the_ip(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            viewers=[
                viewer("v-1", ip="8.8.8.8", location={"country": "is", "region": "Capital Region"}),
                viewer("v-2", ip="8.8.8.8"),
                viewer("v-3"),
                viewer("v-4", ip="203.0.113.7"),  # a documentation address: unknown
                viewer("v-5", ip="8.8.8.8", location={"country": "is", "city": "Reykjavik"}),
            ],
        )
    )
    places = {
        v["id"]: (v["country"], v["region"], v["city"])
        for v in stored(api)["s-1"]["viewers"]["list"]
    }
    assert places == {
        "v-1": ("IS", "Capital Region", None),
        "v-2": ("US", None, None),
        "v-3": (None, None, None),
        "v-4": (None, None, None),
        "v-5": ("IS", None, "Reykjavik"),
    }


def test_a_location_with_only_some_fields_keeps_the_others_unknown(api: Api) -> None:
    api.import_sessions(
        session_body("s-1", viewers=[viewer(location={"city": "Reykjavik"}, ip="8.8.8.8")])
    )
    entry = stored(api)["s-1"]["viewers"]["list"][0]
    assert (entry["country"], entry["region"], entry["city"]) == (None, None, "Reykjavik")


def test_the_reply_is_sent_after_the_commit(api: Api) -> None:
    # Every read after a 200 sees the write: nothing is acknowledged before it is durable.
    for i in range(5):
        api.import_sessions(session_body(f"s-{i}"))
        assert f"s-{i}" in stored(api)
