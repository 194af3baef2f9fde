"""Paging and exports, imports, the events envelope and the framework's edges, held to
the contract's text."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_errors import assert_error, nothing_stored
from tests.conftest import Api, Tenant, session_body
from tests.contract.reference import (
    WIDE,
    _three,
    events,
    started,
)

# --- Paging and exports ---------------------------------------------------------------


def test_a_cursor_of_another_account_is_a_400(
    client: TestClient, api: Api, other_tenant: Tenant
) -> None:
    _three(api)
    cursor = api.usage(**WIDE, limit=1)["next_cursor"]
    other = Api(client, other_tenant)
    assert_error(other.get("/ss/api/usage", params={"cursor": cursor}), 400, "cursor")


@pytest.mark.parametrize("cursor", ["", "x", "null", "a" * 5000, "%00", "é"])
def test_a_cursor_the_server_did_not_make_is_a_400(api: Api, cursor: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"cursor": cursor}), 400, "cursor")


def test_a_cursor_with_its_agents_given_in_another_case_or_order_is_the_same(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1, agent=["bob@example.com", "alice@example.com"])
    response = api.get(
        "/ss/api/usage",
        params={
            "cursor": first["next_cursor"],
            "agent": ["ALICE@example.com", "Bob@Example.com"],
            "limit": 5,
        },
    )
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["sessions"]] == ["b", "c"]


def test_a_cursor_with_a_subset_of_its_agents_is_a_400(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1, agent=["bob@example.com", "alice@example.com"])
    response = api.get(
        "/ss/api/usage", params={"cursor": first["next_cursor"], "agent": "bob@example.com"}
    )
    assert_error(response, 400, "agent")


def test_a_cursor_with_a_window_in_the_body_that_differs_is_a_400(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1)
    response = api.get(
        "/ss/api/usage", params={"cursor": first["next_cursor"]}, json={"from": "2026-01-01"}
    )
    assert_error(response, 400, "from")


def test_pages_keep_the_first_windows_stats_and_the_window(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=2)
    second = api.get("/ss/api/usage", params={"cursor": first["next_cursor"], "limit": 2}).json()
    assert [s["id"] for s in first["sessions"]] == ["a", "b"]
    assert [s["id"] for s in second["sessions"]] == ["c"]
    assert second["next_cursor"] is None
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert second["stats"] == first["stats"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_pages_follow_link_to_the_end(api: Api, fmt: str) -> None:
    _three(api)
    url: str | None = "/ss/api/usage?" + f"from=1970-01-01&to=9999-01-01&limit=2&format={fmt}"
    seen = []
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200, response.text
        lines = response.text.splitlines()
        seen += [line for line in lines if not line.startswith("id,")]
        link = response.headers.get("link")
        if link is None:
            url = None
        else:
            assert link.endswith('>; rel="next"') and link.startswith("<")
            url = link[1 : link.index(">")]
    assert len(seen) == 3


def test_the_ndjson_lines_are_the_documents_sessions(api: Api) -> None:
    _three(api)
    response = api.get("/ss/api/usage", params={**WIDE, "format": "ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    import json

    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == api.usage(**WIDE)["sessions"]


def test_the_csv_header_starts_with_the_contracts_columns(api: Api) -> None:
    _three(api)
    response = api.get("/ss/api/usage", params={**WIDE}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    header = response.text.splitlines()[0].split(",")
    assert header[:8] == [
        "id",
        "agent",
        "start",
        "end",
        "duration",
        "shares",
        "viewers",
        "countries",
    ]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_refuse_include_stats_in_any_combination(api: Api, fmt: str) -> None:
    for include in ("stats", "stats,sessions", "sessions,stats"):
        response = api.get("/ss/api/usage", params={"format": fmt, "include": include})
        assert_error(response, 400, "include")


def test_an_unknown_format_is_a_400(api: Api) -> None:
    for fmt in ("xml", "JSON", "", "csv "):
        assert_error(api.get("/ss/api/usage", params={"format": fmt}), 400, "format")


# --- POST /ss/api/sessions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"id": "s-1\n"}, "sessions[0].id"),
        ({"id": "s/1"}, "sessions[0].id"),
        ({"id": "é"}, "sessions[0].id"),
        ({"id": 5}, "sessions[0].id"),
        ({"id": "x" * 129}, "sessions[0].id"),
        ({"agent": "ALICE@example.com "}, "sessions[0].agent"),
        ({"agent": None}, "sessions[0].agent"),
        ({"start": None}, "sessions[0].start"),
        ({"end": "2026-11-02T09:59:59.999999Z"}, "sessions[0].end"),
        (
            {"shares": [{"at": "2026-11-02T10:00:00Z", "type": "Screen"}]},
            "sessions[0].shares[0].type",
        ),
        ({"shares": [{"type": "tab"}]}, "sessions[0].shares[0].at"),
        ({"shares": [{"at": 1, "type": "tab", "url": "x" * 2049}]}, "sessions[0].shares[0].url"),
        ({"shares": [{"at": 1, "type": "tab", "title": 5}]}, "sessions[0].shares[0].title"),
        ({"shares": {"at": 1}}, "sessions[0].shares"),
        ({"viewers": [{"id": "v", "joined": 10, "left": 9}]}, "sessions[0].viewers[0].left"),
        ({"viewers": [{"id": "v"}]}, "sessions[0].viewers[0].joined"),
        ({"viewers": [{"joined": 1}]}, "sessions[0].viewers[0].id"),
        ({"viewers": [{"id": "v", "joined": 1, "ip": "300.1.1.1"}]}, "sessions[0].viewers[0].ip"),
        (
            {"viewers": [{"id": "v", "joined": 1, "location": {"country": "ISL"}}]},
            "sessions[0].viewers[0].location.country",
        ),
        (
            {"viewers": [{"id": "v", "joined": 1}, {"id": "v", "joined": 2}]},
            "sessions[0].viewers[1].id",
        ),
    ],
)
def test_a_bad_field_is_named_by_its_path_and_nothing_is_written(
    api: Api, change: dict[str, Any], path: str
) -> None:
    body = {**session_body(), **change}
    assert_error(api.post("/ss/api/sessions", json=body), 400, path)
    assert_error(
        api.post("/ss/api/sessions", json={"sessions": [session_body("ok"), body]}),
        400,
        path.replace("sessions[0]", "sessions[1]"),
    )
    assert nothing_stored(api)


def test_duplicate_ids_in_one_import_the_later_wins_and_counts(api: Api) -> None:
    reply = api.import_sessions(
        session_body("a", agent="first@example.com"),
        session_body("a", agent="second@example.com"),
    )
    assert reply == {"received": 2, "created": 1, "replaced": 0}
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["agent"] == "second@example.com"
    reply = api.import_sessions(session_body("a"), session_body("b"))
    assert reply == {"received": 2, "created": 1, "replaced": 1}


def test_a_session_made_by_events_is_replaced_by_an_import_and_counted_as_replaced(
    api: Api,
) -> None:
    api.post("/ss/api/events", json=events(started("e1", "a", "2026-11-02T09:00:00Z")))
    reply = api.import_sessions(session_body("a"))
    assert reply == {"received": 1, "created": 0, "replaced": 1}
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["start"] == "2026-11-02T10:00:00Z"
    # The event's id stays used.
    again = api.post("/ss/api/events", json=events(started("e1", "a", "2026-11-02T09:00:00Z")))
    assert again.json() == {"received": 1, "accepted": 0, "duplicates": 1}


def test_a_session_with_only_events_that_are_not_a_start_is_created_by_an_import(
    api: Api,
) -> None:
    api.post(
        "/ss/api/events",
        json=events(
            {"id": "e1", "type": "session.ended", "session": "a", "at": "2026-11-02T11:00:00Z"}
        ),
    )
    reply = api.import_sessions(session_body("a"))
    # The account had events for it, not a session in usage: still "replaced"?
    assert reply["received"] == 1 and reply["created"] + reply["replaced"] == 1
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["end"] == "2026-11-02T10:30:00Z"


def test_the_imported_location_is_uppercased_and_ip_lookups_never_win_over_it(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                {
                    "id": "v",
                    "joined": "2026-11-02T10:01:00Z",
                    "ip": "8.8.8.8",
                    "location": {"country": "is", "city": "Reykjavik"},
                },
                {"id": "w", "joined": "2026-11-02T10:01:00Z"},
            ]
        )
    )
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["viewers"]["locations"] == [
        {"country": "IS", "region": None, "city": "Reykjavik", "count": 1},
        {"country": None, "region": None, "city": None, "count": 1},
    ]


# --- POST /ss/api/events envelope -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"events": []}, "events"),
        ({"events": None}, "events"),
        ({"events": {}}, "events"),
        ({}, "body"),
        ([], "body"),
        ({"events": [started("e", "s", 1) | {"type": "session.start"}]}, "events[0].type"),
        ({"events": [started("e", "s", 1) | {"type": None}]}, "events[0].type"),
        ({"events": [started("e", "s", 1), started("e 2", "s", 1)]}, "events[1].id"),
        ({"events": [started("e", "s", 1) | {"session": ""}]}, "events[0].session"),
        ({"events": [started("e", "s", 1) | {"at": "soon"}]}, "events[0].at"),
        ({"events": [started("e", "s", 1) | {"agent": "nobody"}]}, "events[0].agent"),
        (
            {"events": [{"id": "e", "type": "viewer.joined", "session": "s", "at": 1}]},
            "events[0].viewer",
        ),
        (
            {"events": [{"id": "e", "type": "viewer.left", "session": "s", "at": 1, "viewer": ""}]},
            "events[0].viewer",
        ),
        (
            {"events": [{"id": "e", "type": "share.started", "session": "s", "at": 1}]},
            "events[0].share_type",
        ),
        (
            {
                "events": [
                    {
                        "id": "e",
                        "type": "share.started",
                        "session": "s",
                        "at": 1,
                        "share_type": "desktop",
                    }
                ]
            },
            "events[0].share_type",
        ),
        (
            {
                "events": [
                    {
                        "id": "e",
                        "type": "viewer.joined",
                        "session": "s",
                        "at": 1,
                        "viewer": "v",
                        "location": {"country": "I"},
                    }
                ]
            },
            "events[0].location.country",
        ),
        (
            {"events": [{"id": "e", "type": "session.started", "session": "s", "at": 1}]},
            "events[0].agent",
        ),
    ],
)
def test_a_bad_events_body_is_a_400_naming_it_and_writes_nothing(
    api: Api, body: object, parameter: str
) -> None:
    assert_error(api.post("/ss/api/events", json=body), 400, parameter)
    assert nothing_stored(api)
    # The ids of a refused request are not used.
    ok = api.post("/ss/api/events", json=events(started("e", "s", 1761987600)))
    assert ok.json()["accepted"] == 1


def test_repeats_inside_one_request_are_duplicates_whatever_they_say(api: Api) -> None:
    reply = api.post(
        "/ss/api/events",
        json=events(
            started("e1", "s", "2026-11-02T10:00:00Z"),
            started("e1", "s", "2026-11-02T09:00:00Z", agent="bob@example.com"),
            started("e2", "t", "2026-11-02T09:00:00Z"),
        ),
    ).json()
    assert reply == {"received": 3, "accepted": 2, "duplicates": 1}
    sessions = {s["id"]: s for s in api.usage(**WIDE)["sessions"]}
    assert sessions["s"]["start"] == "2026-11-02T10:00:00Z"
    assert sessions["s"]["agent"] == "alice@example.com"


# --- Framework edges ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ss/api/sessions"),
        ("POST", "/ss/api/usage"),
        ("GET", "/ss/api/events"),
        ("PATCH", "/ss/api/sessions/s-1"),
        ("POST", "/ss/api/sessions/s-1"),
    ],
)
def test_odd_routes_and_methods_answer_the_error_shape(api: Api, method: str, path: str) -> None:
    response = api.client.request(
        method,
        path,
        headers={"Authorization": f"Basic {api.tenant.write_key}"},
        follow_redirects=False,
    )
    assert response.status_code in (404, 405), (response.status_code, response.text)
    assert_error(response, response.status_code)


def test_a_get_session_of_a_session_with_events_but_no_start_is_404(api: Api) -> None:
    api.post(
        "/ss/api/events",
        json=events({"id": "e1", "type": "session.ended", "session": "a", "at": 1761987600}),
    )
    assert_error(api.get("/ss/api/sessions/a"), 404)
