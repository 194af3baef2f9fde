"""POST /ss/api/sessions refused: the first bad field is named, nothing is written,
bodies of the wrong shape, and the limits on counts and lengths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.documents import SHARE, WINDOW, post, stored, viewer
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body


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
        # required fields missing: the first in document order is named
        ({"agent": "a@b.co"}, "id"),
        ({"id": "x"}, "agent"),
        ({"id": "x", "agent": "a@b.co"}, "start"),
        # more values of the same rules
        (session_body(agent=None), "agent"),
        (session_body(start="later"), "start"),
        (session_body(end="2026-11-02T09:59:59Z"), "end"),
        (session_body(shares=[{"type": "screen"}]), "shares[0].at"),
        (session_body(shares=[{"at": "2026-11-02", "type": "tv"}]), "shares[0].type"),
        (
            session_body(shares=[{"at": "2026-11-02", "type": "tab", "title": "t" * 1001}]),
            "shares[0].title",
        ),
        (
            session_body(shares=[{"at": "2026-11-02", "type": "tab", "url": "u" * 2049}]),
            "shares[0].url",
        ),
        (session_body(shares=[{"at": "2026-11-02", "type": "tab"}] * 1001), "shares"),
        (session_body(viewers=[{"id": "v"}]), "viewers[0].joined"),
        (
            session_body(
                viewers=[
                    {"id": "v", "joined": "2026-11-02T10:05:00Z", "left": "2026-11-02T10:04:00Z"}
                ]
            ),
            "viewers[0].left",
        ),
        (
            session_body(
                viewers=[{"id": "v", "joined": "2026-11-02"}, {"id": "v", "joined": "2026-11-02"}]
            ),
            "viewers[1].id",
        ),
        (
            session_body(
                viewers=[{"id": "v", "joined": "2026-11-02", "location": {"country": "Iceland"}}]
            ),
            "viewers[0].location.country",
        ),
        (session_body(viewers="none"), "viewers"),
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


@pytest.mark.parametrize("body", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_or_is_missing_is_named_body(api: Api, body: Any) -> None:
    # json=None sends no body at all.
    assert_error(post(api, body), 400, "body")


def test_a_body_that_is_not_json_is_named_body(api: Api) -> None:
    response = api.post("/ss/api/sessions", content=b"{not json")
    assert_error(response, 400, "body")


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
