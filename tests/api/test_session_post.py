"""POST /ss/api/sessions: validation naming the first bad field, all or nothing,
replace by id, limits, and how viewers are located."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}
SHARE = {"at": "2026-11-02T10:00:03Z", "type": "screen", "title": "Entire screen"}


def viewer(vid: str = "v-1", **extra: Any) -> dict[str, Any]:
    return {"id": vid, "joined": "2026-11-02T10:01:00Z", **extra}


def stored(api: Api) -> dict[str, dict[str, Any]]:
    """Every session of the account, by id, with its viewer list."""
    listed = api.usage(**{"from": "0001-01-01", "to": "9999-01-01"})["sessions"]
    return {s["id"]: api.get(f"/ss/api/sessions/{s['id']}").json() for s in listed}


def post(api: Api, body: Any) -> Any:
    return api.post("/ss/api/sessions", json=body)


def test_a_single_session_object_is_recorded(api: Api) -> None:
    response = post(api, session_body("s-1"))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 1, "created": 1, "replaced": 0}
    assert list(stored(api)) == ["s-1"]


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


def test_a_later_session_with_the_same_id_in_one_request_replaces_the_earlier(api: Api) -> None:
    reply = api.import_sessions(
        session_body("s-1", agent="first@example.com", shares=[SHARE]),
        session_body("s-2"),
        session_body("s-1", agent="second@example.com"),
    )
    assert reply == {"received": 3, "created": 2, "replaced": 0}
    s1 = stored(api)["s-1"]
    assert (s1["agent"], s1["shares"]) == ("second@example.com", [])


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


# ---- validation: the first bad field is named, and nothing is written ----


def bad_item_cases() -> list[tuple[dict[str, Any], str]]:
    long_email = "x" * 243 + "@example.com"
    return [
        ({"agent": "a@example.com", "start": "2026-11-02"}, "id"),
        (session_body("has space"), "id"),
        (session_body("x" * 129), "id"),
        (session_body(""), "id"),
        (session_body("é"), "id"),
        (session_body("a/b"), "id"),
        ({**session_body(), "id": 7}, "id"),
        ({"id": "s", "start": "2026-11-02"}, "agent"),
        (session_body(agent="not-an-email"), "agent"),
        (session_body(agent=long_email), "agent"),
        ({"id": "s", "agent": "a@example.com"}, "start"),
        (session_body(start=None), "start"),
        (session_body(start="yesterday"), "start"),
        (session_body(start="2026-11-02T10:00:00Z", end="2026-11-02T09:59:59.999999Z"), "end"),
        (session_body(end="soon"), "end"),
        (session_body(shares="x"), "shares"),
        (session_body(shares=[{"type": "tab"}]), "shares[0].at"),
        (session_body(shares=[{"at": "2026-11-02"}]), "shares[0].type"),
        (session_body(shares=[{"at": "2026-11-02", "type": "browser"}]), "shares[0].type"),
        (session_body(shares=[SHARE, {**SHARE, "title": "t" * 1001}]), "shares[1].title"),
        (session_body(shares=[{**SHARE, "url": "u" * 2049}]), "shares[0].url"),
        (session_body(shares=[{**SHARE, "url": 5}]), "shares[0].url"),
        (session_body(viewers=[{"joined": "2026-11-02"}]), "viewers[0].id"),
        (session_body(viewers=[viewer("v-1"), {"id": "v-2"}]), "viewers[1].joined"),
        (session_body(viewers=[viewer("v-1"), viewer("v-2", joined="later")]), "viewers[1].joined"),
        (session_body(viewers=[viewer("v 1")]), "viewers[0].id"),
        (session_body(viewers=[viewer("v" * 129)]), "viewers[0].id"),
        (session_body(viewers=[viewer("v-1"), viewer("v-2"), viewer("v-1")]), "viewers[2].id"),
        (session_body(viewers=[viewer(left="2026-11-02T10:00:59Z")]), "viewers[0].left"),
        (session_body(viewers=[viewer(ip="not-an-ip")]), "viewers[0].ip"),
        (
            session_body(viewers=[viewer(location={"country": "USA"})]),
            "viewers[0].location.country",
        ),
        (session_body(viewers=[viewer(location={"country": "1S"})]), "viewers[0].location.country"),
        (session_body(viewers=[viewer(location="IS")]), "viewers[0].location"),
        (session_body(viewers=[1]), "viewers[0]"),
    ]


@pytest.mark.parametrize(("item", "path"), bad_item_cases())
def test_a_bad_field_is_named_in_the_batch_form_and_nothing_is_written(
    api: Api, item: dict[str, Any], path: str
) -> None:
    good = [session_body("good-0"), session_body("good-1")]
    error = assert_error(post(api, {"sessions": [*good, item]}), 400, f"sessions[2].{path}")
    assert error["message"].startswith(f"sessions[2].{path}:")
    assert stored(api) == {}


@pytest.mark.parametrize(("item", "path"), bad_item_cases())
def test_a_bad_field_of_a_single_object_is_named_as_sessions_0(
    api: Api, item: dict[str, Any], path: str
) -> None:
    assert_error(post(api, item), 400, f"sessions[0].{path}")
    assert stored(api) == {}


def test_the_first_bad_item_is_named(api: Api) -> None:
    batch = [
        session_body("s-0"),
        session_body("s-1"),
        session_body("s-2"),
        session_body("s-3", end="2026-11-01T00:00:00Z"),
        session_body("s 4"),
    ]
    assert_error(post(api, {"sessions": batch}), 400, "sessions[3].end")
    nested = [
        session_body("s-0", viewers=[viewer("v-1"), viewer("v-2", joined="?")]),
        session_body(""),
    ]
    assert_error(post(api, {"sessions": nested}), 400, "sessions[0].viewers[1].joined")


def test_within_a_session_the_first_bad_field_in_document_order_is_named(api: Api) -> None:
    # end (before start) comes before viewers in the object, so it is named
    # even though a viewer is bad too; within viewers, the earlier one wins.
    bad_end = session_body(end="2026-11-02T09:00:00Z", viewers=[viewer("bad id")])
    assert_error(post(api, bad_end), 400, "sessions[0].end")
    bad_left = session_body(
        viewers=[viewer("v-0", left="2026-11-02T10:00:30Z"), {"id": "v-1"}],
    )
    assert_error(post(api, bad_left), 400, "sessions[0].viewers[0].left")
    assert stored(api) == {}


def test_an_email_longer_than_254_characters_once_lowercased_is_a_400(api: Api) -> None:
    # "İ" lowercases to two characters: 254 sent, 504 kept. Never a 500.
    grows = "İ" * 250 + "@b.c"
    assert len(grows) == 254
    assert_error(post(api, session_body(agent=grows)), 400, "sessions[0].agent")
    assert stored(api) == {}
    fits = "a" * 250 + "@b.c"
    assert post(api, session_body(agent=fits)).status_code == 200


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


def test_a_failed_request_leaves_existing_sessions_untouched(api: Api) -> None:
    api.import_sessions(session_body("s-1", shares=[SHARE]))
    before = stored(api)
    response = post(
        api, {"sessions": [session_body("s-1", agent="x@example.com"), session_body("")]}
    )
    assert_error(response, 400, "sessions[1].id")
    assert stored(api) == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"sessions": []}, "sessions"),
        ({"sessions": {}}, "sessions"),
        ({"sessions": None}, "sessions"),
        ({"sessions": [1]}, "sessions[0]"),
        ([session_body()], "body"),
        ("s-1", "body"),
        (None, "body"),
    ],
)
def test_a_body_of_the_wrong_shape_names_it(api: Api, body: Any, path: str) -> None:
    response = (
        api.post("/ss/api/sessions", content=b"null", headers={"Content-Type": "application/json"})
        if body is None
        else post(api, body)
    )
    assert_error(response, 400, path)


def test_1000_sessions_are_accepted_and_1001_are_a_400(api: Api) -> None:
    too_many = [session_body(f"s-{i}") for i in range(1001)]
    assert_error(post(api, {"sessions": too_many}), 400, "sessions")
    assert stored(api) == {}
    reply = api.import_sessions(*too_many[:1000])
    assert reply == {"received": 1000, "created": 1000, "replaced": 0}
    assert api.usage(**WINDOW, include="stats")["stats"]["total"]["meetings"] == 1000


def test_1000_shares_and_viewers_are_accepted_and_1001_are_a_400(api: Api) -> None:
    shares = [{**SHARE, "title": str(i)} for i in range(1001)]
    viewers = [viewer(f"v-{i}") for i in range(1001)]
    assert_error(post(api, session_body(shares=shares)), 400, "sessions[0].shares")
    assert_error(post(api, session_body(viewers=viewers)), 400, "sessions[0].viewers")
    api.import_sessions(session_body("s-1", shares=shares[:1000], viewers=viewers[:1000]))
    session = stored(api)["s-1"]
    assert len(session["shares"]) == 1000 and session["viewers"]["count"] == 1000
    assert [s["title"] for s in session["shares"]] == [str(i) for i in range(1000)]


def test_lengths_at_the_limits_are_accepted(api: Api) -> None:
    sid = "A-z_0.9:" * 16  # 128 characters, every kind the rule allows
    share = {**SHARE, "title": "t" * 1000, "url": "https://example.com/" + "u" * 2028}
    assert len(sid) == 128 and len(share["url"]) == 2048
    api.import_sessions(session_body(sid, shares=[share], viewers=[viewer("v" * 128)]))
    session = stored(api)[sid]
    assert session["shares"][0]["title"] == share["title"]
    assert session["shares"][0]["url"] == share["url"]
    assert session["viewers"]["list"][0]["id"] == "v" * 128


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("title", "t" * 1001, 1000), ("url", "u" * 2049, 2048)],
)
def test_a_text_over_its_limit_is_refused_in_characters(
    api: Api, field: str, value: str, limit: int
) -> None:
    response = post(api, session_body(shares=[{**SHARE, field: value}]))
    error = assert_error(response, 400, f"sessions[0].shares[0].{field}")
    assert f"at most {limit} characters" in error["message"]


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
