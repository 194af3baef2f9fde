"""The contract's core, request by request: errors, timestamps and the usage
parameters, on the edges the other tests leave alone."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_errors import assert_error, nothing_stored
from tests.conftest import Api, Tenant, session_body
from tests.contract.reference import (
    WIDE,
)

# --- Errors: a bad request never answers 500 -------------------------------------------


def test_a_limit_of_thousands_of_digits_is_a_400_not_a_500(api: Api) -> None:
    assert_error(api.get("/ss/api/usage", params={"limit": "1" * 5000}), 400, "limit")


def test_a_viewers_limit_of_thousands_of_digits_is_a_400_not_a_500(api: Api) -> None:
    api.import_sessions(session_body())
    response = api.get("/ss/api/sessions/s-1", params={"viewers_limit": "9" * 5000})
    assert_error(response, 400, "viewers_limit")
    response = api.get("/ss/api/sessions/s-1", params={"viewers_limit": "0" * 5000 + "5"})
    assert response.status_code == 200, response.text


def test_a_body_with_a_fine_fraction_and_a_huge_integer_is_a_400_not_a_500(
    client: TestClient, tenant: Tenant, api: Api
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    huge = "1" * 5000
    body = (
        '{"events": [{"id": "e1", "type": "session.started", "session": "s", '
        f'"at": 1761987600.1234567, "agent": "a@b.co", "x": {huge}}}]}}'
    )
    assert_error(client.post("/ss/api/events", content=body, headers=headers), 400, "body")
    body = f'{{"id": "s", "agent": "a@b.co", "start": 1761987600.1234567, "end": {huge}}}'
    response = client.post("/ss/api/sessions", content=body, headers=headers)
    assert_error(response, 400)
    assert nothing_stored(api)


# --- Timestamps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2026-11-01T10:00:00.999999+01:00", "2026-11-01T09:00:00Z"),
        ("2026-11-01T09:00:00.9Z", "2026-11-01T09:00:00Z"),
        ("1761987600.999", "2025-11-01T09:00:00Z"),
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("2026-11-01T09:00:00", "2026-11-01T09:00:00Z"),
        ("2026-11-01T10:30:00 01:30", "2026-11-01T09:00:00Z"),
        ("2026-11-01T04:00:00-05:00", "2026-11-01T09:00:00Z"),
    ],
)
def test_the_window_is_written_back_in_utc_whole_seconds(
    api: Api, given: str, written: str
) -> None:
    document = api.usage(**{"from": given, "to": "2027-01-01"})
    assert document["from"] == written


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "",
        "2026-13-01",
        "2026-11-31",
        "2026-11-01T25:00:00Z",
        "10000-01-01",
        "2026-11-01T09:00:00+24:00",
        "0000-01-01",
        "1e9",
        "0x10",
        "١٧٦١٩٨٧٦٠٠",
        "NaN",
        "inf",
    ],
)
def test_anything_else_is_a_400_naming_from(api: Api, bad: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"from": bad}), 400, "from")


@pytest.mark.parametrize("bad", [True, None, [1], {"a": 1}, 1e400, "", "1 2"])
def test_a_bad_json_timestamp_in_an_import_is_a_400_naming_it(api: Api, bad: object) -> None:
    if bad is None:
        bad_body: dict[str, Any] = session_body(start=None)  # type: ignore[arg-type]
    else:
        bad_body = session_body(start=bad)  # type: ignore[arg-type]
    if bad == 1e400:
        response = api.client.post(
            "/ss/api/sessions",
            content=b'{"id": "s", "agent": "a@b.co", "start": 1e400}',
            headers={"Authorization": f"Basic {api.tenant.write_key}"},
        )
        assert response.status_code == 400, response.text
    else:
        assert_error(api.post("/ss/api/sessions", json=bad_body), 400, "sessions[0].start")
    assert nothing_stored(api)


def test_json_numbers_are_unix_seconds_also_as_floats_and_negative(api: Api) -> None:
    api.import_sessions(
        session_body("a", start=1761987600.5, end=1761987601.25),  # type: ignore[arg-type]
        session_body("b", start=-1, end=0),  # type: ignore[arg-type]
    )
    document = api.usage(**{"from": "1969-01-01", "to": "2030-01-01"})
    sessions = {s["id"]: s for s in document["sessions"]}
    assert sessions["a"]["start"] == "2025-11-01T09:00:00Z"
    assert sessions["a"]["end"] == "2025-11-01T09:00:01Z"
    # floor(end - start) of the kept instants: 0.75 s
    assert sessions["a"]["duration"] == 0
    assert sessions["b"]["start"] == "1969-12-31T23:59:59Z"
    assert sessions["b"]["duration"] == 1


# --- GET /ss/api/usage ----------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "10001", "-1", "+5", "1.0", "", " 5", "abc", "1e3"])
def test_limit_outside_1_to_10000_is_a_400(api: Api, limit: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"limit": limit}), 400, "limit")


@pytest.mark.parametrize("limit", ["1", "10000", "007"])
def test_limit_at_its_bounds_is_accepted(api: Api, limit: str) -> None:
    assert api.get("/ss/api/usage", params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("name", ["from", "to", "limit", "cursor", "include", "format"])
def test_every_single_valued_parameter_given_twice_is_a_400(api: Api, name: str) -> None:
    values = {
        "from": "2026-01-01",
        "to": "2026-02-01",
        "limit": "5",
        "cursor": "x",
        "include": "stats",
        "format": "json",
    }
    response = api.get(f"/ss/api/usage?{name}={values[name]}&{name}={values[name]}")
    assert_error(response, 400, name)


@pytest.mark.parametrize("include", ["", ",", "stats,", "Stats", "stats;sessions", "viewers"])
def test_include_outside_the_comma_list_is_a_400(api: Api, include: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"include": include}), 400, "include")


def test_include_both_named_is_the_default(api: Api) -> None:
    api.import_sessions(session_body())
    a = api.usage(**WIDE, include="sessions,stats")
    b = api.usage(**WIDE)
    assert a == b
    assert set(a) >= {"from", "to", "stats", "sessions", "next_cursor"}


def test_from_equal_to_to_is_a_400(api: Api) -> None:
    response = api.get("/ss/api/usage", params={"from": "2026-11-01", "to": "2026-11-01T00:00:00Z"})
    assert_error(response, 400)


def test_from_and_to_in_the_body_as_numbers_and_query_wins_per_parameter(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z"),
        session_body("b", start="2026-11-05T10:00:00Z", end=None),
    )
    body = {"from": 1761987600, "to": "2026-11-03"}
    response = api.get("/ss/api/usage", params={"to": "2026-11-06"}, json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["from"] == "2025-11-01T09:00:00Z"
    assert document["to"] == "2026-11-06T00:00:00Z"
    assert [s["id"] for s in document["sessions"]] == ["a", "b"]


def test_the_get_body_may_hold_other_fields_and_null_means_absent(api: Api) -> None:
    response = api.get("/ss/api/usage", json={"from": None, "to": "2026-11-06", "x": 1})
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "2026-10-09T00:00:00Z"


def test_the_agent_filter_with_an_unknown_agent_has_empty_stats(api: Api) -> None:
    api.import_sessions(session_body())
    document = api.usage(**WIDE, agent="nobody@example.com")
    assert document["stats"] == {"total": {"meetings": 0, "seconds": 0}, "per_agent": {}}
    assert document["sessions"] == []


@pytest.mark.parametrize(
    "agent", ["", "a", "@b", "a@", "a@@b", "a@b@c", "a b@c", "a@b\tc", "x" * 250 + "@b.co"]
)
def test_an_agent_filter_that_is_not_an_email_is_a_400(api: Api, agent: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"agent": agent}), 400, "agent")


def test_an_ongoing_session_counts_in_stats_with_its_running_duration(api: Api) -> None:
    api.import_sessions(session_body("a", start="2020-01-01T00:00:00Z", end=None))
    document = api.usage(**WIDE)
    (session,) = document["sessions"]
    assert session["end"] is None
    assert session["duration"] > 86400 * 365
    assert document["stats"]["total"]["meetings"] == 1
    # The same instant for both: the moment the response was made.
    assert abs(document["stats"]["total"]["seconds"] - session["duration"]) <= 1


def test_per_agent_keys_are_lowercased_and_figures_add_up(api: Api) -> None:
    api.import_sessions(
        session_body("a", agent="Alice@Example.COM"),
        session_body(
            "b",
            agent="alice@example.com",
            start="2026-11-03T10:00:00Z",
            end="2026-11-03T10:00:00.999Z",
        ),
        session_body("c", agent="BOB@example.com"),
    )
    stats = api.usage(**WIDE)["stats"]
    assert stats["per_agent"] == {
        "alice@example.com": {"meetings": 2, "seconds": 1800},
        "bob@example.com": {"meetings": 1, "seconds": 1800},
    }
    assert stats["total"] == {"meetings": 3, "seconds": 3600}
