"""GET /ss/api/usage: the window, its defaults and spellings, agents, include, and the
figures, order and shapes of the document."""

from __future__ import annotations

import time

import pytest

from tests.api.documents import DAY, WINDOW, epoch, ids, meeting
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body


def test_window_is_half_open(api: Api) -> None:
    api.import_sessions(
        session_body("before-from", start="2026-10-31T23:59:59.999999Z", end=None),
        meeting("at-from", "2026-11-01T00:00:00Z"),
        meeting("before-to", "2026-11-09T23:59:59.999999Z"),
        meeting("at-to", "2026-11-10T00:00:00Z"),
    )
    document = api.usage(**WINDOW)
    assert ids(document) == ["at-from", "before-to"]
    assert document["stats"]["total"]["meetings"] == 2


def test_a_session_that_starts_before_the_window_and_ends_in_it_is_not_in_it(api: Api) -> None:
    api.import_sessions(
        session_body("s-1", start="2026-10-31T23:00:00Z", end="2026-11-01T01:00:00Z")
    )
    assert ids(api.usage(**WINDOW)) == []


def test_default_window_is_the_28_days_before_now(api: Api) -> None:
    now = time.time()
    api.import_sessions(
        session_body("recent", start=str(int(now) - 27 * DAY), end=None),
        session_body("old", start=str(int(now) - 29 * DAY), end=None),
    )
    before = int(time.time())
    document = api.usage()
    after = time.time()
    assert before - 1 <= epoch(document["to"]) <= after
    assert epoch(document["to"]) - epoch(document["from"]) == 28 * DAY
    assert ids(document) == ["recent"]


def test_only_from_given_the_window_runs_to_now(api: Api) -> None:
    before = int(time.time())
    document = api.usage(**{"from": "2026-01-01"})
    assert document["from"] == "2026-01-01T00:00:00Z"
    assert before - 1 <= epoch(document["to"]) <= time.time()


def test_only_to_given_from_is_28_days_before_it(api: Api) -> None:
    document = api.usage(to="2026-11-29T12:00:00Z")
    assert (document["from"], document["to"]) == ("2026-11-01T12:00:00Z", "2026-11-29T12:00:00Z")


@pytest.mark.parametrize(
    "window",
    [
        {"from": "2026-11-02", "to": "2026-11-02"},
        {"from": "2026-11-02T00:00:00.000001Z", "to": "2026-11-02"},
        {"from": "2026-11-03", "to": "2026-11-02"},
        {"from": "2999-01-01"},  # after the default `to` (now)
    ],
)
def test_from_not_before_to_is_a_400(api: Api, window: dict[str, str]) -> None:
    assert_error(api.get("/ss/api/usage", params=window), 400)


def test_a_window_one_microsecond_long_is_allowed(api: Api) -> None:
    api.import_sessions(session_body("s-1", start="2026-11-02T10:00:00.000001Z"))
    document = api.usage(**{"from": "2026-11-02T10:00:00.000001Z", "to": "1793613600.000002"})
    assert ids(document) == ["s-1"]


# 2026-11-01T09:00:00.250Z in every spelling the contract accepts.
SPELLINGS_OF_09_00_00_250 = [
    "2026-11-01T09:00:00.250Z",
    "2026-11-01T10:00:00.250+01:00",
    "2026-11-01T04:00:00.25-05:00",
    "2026-11-01T09:00:00.250",  # no offset: UTC
    "1793523600.25",
]


@pytest.mark.parametrize("spelling", SPELLINGS_OF_09_00_00_250)
def test_every_timestamp_spelling_is_read_in_the_query_string(api: Api, spelling: str) -> None:
    api.import_sessions(
        session_body("early", start="2026-11-01T09:00:00.249999Z"),
        session_body("on-time", start="2026-11-01T09:00:00.250Z"),
    )
    document = api.usage(**{"from": spelling, "to": "2026-11-02"})
    assert document["from"] == "2026-11-01T09:00:00Z"  # written in whole seconds
    assert ids(document) == ["on-time"]  # but kept to the microsecond


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("1793523600", "2026-11-01T09:00:00Z"),
        ("2026-11-01T09:00Z", "2026-11-01T09:00:00Z"),
        ("2026-11-01T09:00:00.999999999Z", "2026-11-01T09:00:00Z"),
    ],
)
def test_dates_and_integer_epochs_are_read_in_the_query_string(
    api: Api, spelling: str, expected: str
) -> None:
    assert api.usage(**{"from": spelling, "to": "2026-11-02"})["from"] == expected


def test_an_unencoded_plus_in_an_offset_is_read_as_plus(api: Api) -> None:
    # A literal "+" in a query string arrives as a space; the server reads it back.
    response = api.get("/ss/api/usage?from=2026-11-01T10:00:00+01:00&to=2026-11-02T01:00:00+01:00")
    assert response.status_code == 200, response.text
    assert (response.json()["from"], response.json()["to"]) == (
        "2026-11-01T09:00:00Z",
        "2026-11-02T00:00:00Z",
    )
    encoded = api.get("/ss/api/usage?from=2026-11-01T10:00:00%2B01:00&to=2026-11-02")
    assert encoded.json()["from"] == "2026-11-01T09:00:00Z"


@pytest.mark.parametrize("value", [*SPELLINGS_OF_09_00_00_250, 1793523600.25, "1793523600.250"])
def test_every_timestamp_spelling_is_read_in_a_json_body(api: Api, value: object) -> None:
    api.import_sessions(
        session_body("early", start="2026-11-01T09:00:00.249999Z"),
        session_body("on-time", start="2026-11-01T09:00:00.250Z"),
    )
    response = api.get("/ss/api/usage", json={"from": value, "to": "2026-11-02"})
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "2026-11-01T09:00:00Z"
    assert ids(response.json()) == ["on-time"]


def test_a_json_body_takes_integer_numbers_and_digit_strings(api: Api) -> None:
    api.import_sessions(session_body("s-1", start="2026-11-01T09:00:00Z"))
    for window in (
        {"from": 1793523600, "to": 1793523601},
        {"from": "1793523600", "to": "1793523601"},
    ):
        response = api.get("/ss/api/usage", json=window)
        assert (response.json()["from"], ids(response.json())) == ("2026-11-01T09:00:00Z", ["s-1"])


def test_a_json_number_finer_than_a_microsecond_is_truncated(api: Api) -> None:
    # As a binary float 1793523599.9999999 is 1793523600.0, a microsecond too late.
    api.import_sessions(session_body("last-microsecond", start="2026-11-01T08:59:59.999999Z"))
    raw = '{"from": 1793523599.9999999, "to": 1793523600.0000001}'
    response = api.get("/ss/api/usage", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert ids(response.json()) == ["last-microsecond"]


def test_the_query_string_wins_over_the_body(api: Api) -> None:
    api.import_sessions(
        session_body("s-1", start="2026-11-02T10:00:00Z"),
        meeting("s-2", "2026-11-05T10:00:00Z"),
    )
    body = {"from": "2026-11-01", "to": "2026-11-03"}
    assert ids(api.get("/ss/api/usage", json=body).json()) == ["s-1"]
    both = api.get("/ss/api/usage", params={"from": "2026-11-04"}, json=body)
    assert both.status_code == 400  # query from (11-04) is after body to (11-03)
    overridden = api.get(
        "/ss/api/usage", params={"from": "2026-11-04", "to": "2026-11-06"}, json=body
    ).json()
    assert (overridden["from"], overridden["to"], ids(overridden)) == (
        "2026-11-04T00:00:00Z",
        "2026-11-06T00:00:00Z",
        ["s-2"],
    )
    mixed = api.get("/ss/api/usage", params={"to": "2026-11-06"}, json=body).json()
    assert (mixed["from"], ids(mixed)) == ("2026-11-01T00:00:00Z", ["s-1", "s-2"])


def test_a_bad_timestamp_in_the_body_names_it(api: Api) -> None:
    assert_error(api.get("/ss/api/usage", json={"from": "soon"}), 400, "from")
    assert_error(api.get("/ss/api/usage", json={"to": True}), 400, "to")
    assert_error(api.get("/ss/api/usage", json={"to": [1]}), 400, "to")


@pytest.mark.parametrize(
    "spelling",
    ["yesterday", "2026-11-01T09:00:00+0100x", "2026-11-31", "11/01/2026", "1e9", "now", "  "],
)
def test_anything_else_is_a_400_naming_the_parameter(api: Api, spelling: str) -> None:
    error = assert_error(api.get("/ss/api/usage", params={"to": spelling}), 400, "to")
    assert error["message"].startswith("to:")


def test_agent_is_repeatable_and_restricts_sessions_and_stats(api: Api) -> None:
    api.import_sessions(
        session_body("s-a", agent="alice@example.com"),
        meeting("s-b", "2026-11-03T10:00:00Z", agent="bob@example.com"),
        meeting("s-c", "2026-11-04T10:00:00Z", agent="carol@example.com"),
    )
    one = api.usage(**WINDOW, agent="bob@example.com")
    assert ids(one) == ["s-b"]
    assert one["stats"] == {
        "total": {"meetings": 1, "seconds": 1800},
        "per_agent": {"bob@example.com": {"meetings": 1, "seconds": 1800}},
    }
    two = api.get(
        "/ss/api/usage",
        params=[*WINDOW.items(), ("agent", "alice@example.com"), ("agent", "carol@example.com")],
    ).json()
    assert ids(two) == ["s-a", "s-c"]
    assert set(two["stats"]["per_agent"]) == {"alice@example.com", "carol@example.com"}
    assert two["stats"]["total"] == {"meetings": 2, "seconds": 3600}


def test_agents_are_compared_case_insensitively_and_reported_lowercased(api: Api) -> None:
    api.import_sessions(session_body("s-1", agent="Alice@Example.COM"))
    document = api.usage(**WINDOW, agent="ALICE@example.com")
    assert ids(document) == ["s-1"]
    assert document["sessions"][0]["agent"] == "alice@example.com"
    assert list(document["stats"]["per_agent"]) == ["alice@example.com"]


def test_an_agent_with_no_sessions_gives_empty_figures(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    document = api.usage(**WINDOW, agent="nobody@example.com")
    assert document["stats"] == {"total": {"meetings": 0, "seconds": 0}, "per_agent": {}}
    assert document["sessions"] == [] and document["next_cursor"] is None


def test_include_stats_has_no_sessions_and_no_cursor(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    document = api.usage(**WINDOW, include="stats")
    assert set(document) == {"from", "to", "stats"}
    assert document["stats"]["total"] == {"meetings": 1, "seconds": 1800}


def test_include_sessions_has_no_stats(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    document = api.usage(**WINDOW, include="sessions")
    assert set(document) == {"from", "to", "sessions", "next_cursor"}
    assert ids(document) == ["s-1"]


@pytest.mark.parametrize("include", [None, "stats,sessions", "sessions,stats"])
def test_include_defaults_to_both(api: Api, include: str | None) -> None:
    params = {**WINDOW, **({"include": include} if include else {})}
    assert set(api.usage(**params)) == {"from", "to", "stats", "sessions", "next_cursor"}


@pytest.mark.parametrize("include", ["", "stat", "stats,viewers", "STATS", "stats;sessions"])
def test_include_outside_the_list_is_a_400(api: Api, include: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"include": include}), 400, "include")


def test_an_ongoing_session_has_no_end_runs_to_now_and_counts_in_stats(api: Api) -> None:
    started = time.time() - 3600.5
    api.import_sessions(
        session_body("live", start=f"{started:.6f}", end=None),
        session_body("done", start=f"{started - 100:.6f}", end=f"{started - 40:.6f}"),
    )
    before = time.time()
    document = api.usage()
    after = time.time()
    live = {s["id"]: s for s in document["sessions"]}["live"]
    assert live["end"] is None
    assert int(before - started) <= live["duration"] <= int(after - started)
    assert document["stats"]["total"]["meetings"] == 2
    assert document["stats"]["total"]["seconds"] == live["duration"] + 60


def test_an_ongoing_session_that_starts_in_the_future_lasts_zero_seconds(api: Api) -> None:
    api.import_sessions(session_body("later", start=str(int(time.time()) + 3600), end=None))
    document = api.usage(**{"from": "2000-01-01", "to": "2999-01-01"})
    assert document["sessions"][0]["duration"] == 0
    assert document["stats"]["total"]["seconds"] == 0


@pytest.mark.parametrize(
    ("start", "end", "duration"),
    [
        ("2026-11-02T10:00:00.900Z", "2026-11-02T10:30:00.100Z", 1799),
        ("2026-11-02T10:00:00.100Z", "2026-11-02T10:30:00.900Z", 1800),
        ("2026-11-02T10:00:00.5Z", "2026-11-02T10:00:01.4Z", 0),
        ("2026-11-02T10:00:00.5Z", "2026-11-02T10:00:00.5Z", 0),
        ("1793613600.000001", "1793613601", 0),
    ],
)
def test_duration_is_the_floor_of_the_exact_instants(
    api: Api, start: str, end: str, duration: int
) -> None:
    api.import_sessions(session_body("s-1", start=start, end=end))
    document = api.usage(**WINDOW)
    assert document["sessions"][0]["duration"] == duration
    assert document["stats"]["total"]["seconds"] == duration
