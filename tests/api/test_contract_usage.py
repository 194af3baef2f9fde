"""GET /ss/api/usage: the window, defaults, filters, figures and ordering of the contract."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.api.documents import WINDOW, ids
from tests.conftest import Api, session_body


def test_window_is_half_open(api: Api) -> None:
    api.import_sessions(
        session_body("at-from", start="2026-11-01T00:00:00Z", end="2026-11-01T00:10:00Z"),
        session_body("just-before-to", start="2026-11-09T23:59:59.999999Z", end=None),
        session_body("at-to", start="2026-11-10T00:00:00Z", end="2026-11-10T00:10:00Z"),
        session_body("before", start="2026-10-31T23:59:59Z", end="2026-11-01T00:10:00Z"),
    )
    assert ids(api.usage(**WINDOW)) == ["at-from", "just-before-to"]


def test_defaults_are_now_and_28_days_before(api: Api) -> None:
    before = time.time()
    document = api.usage()
    after = time.time()
    to = document["to"]
    from_ = document["from"]
    to_s = datetime.fromisoformat(to.replace("Z", "+00:00")).timestamp()
    from_s = datetime.fromisoformat(from_.replace("Z", "+00:00")).timestamp()
    assert int(before) - 1 <= to_s <= after
    assert to_s - from_s == 28 * 86400
    # Only `to` given: `from` is 28 days before it.
    assert api.usage(to="2026-11-29")["from"] == "2026-11-01T00:00:00Z"


def test_from_not_before_to_is_a_400(api: Api) -> None:
    for window in (
        {"from": "2026-11-02", "to": "2026-11-02"},
        {"from": "2026-11-03", "to": "2026-11-02"},
    ):
        response = api.get("/ss/api/usage", params=window)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("name", ["from", "to", "limit", "cursor", "include", "format"])
def test_a_single_valued_parameter_given_twice_is_a_400(api: Api, name: str) -> None:
    response = api.get(f"/ss/api/usage?{name}=2026-11-01&{name}=2026-11-02")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == name


def test_window_in_the_get_body_and_the_query_string_wins(api: Api) -> None:
    api.import_sessions(session_body("s-1", start="2026-11-02T10:00:00Z"))
    body = b'{"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z"}'
    headers = {"Content-Type": "application/json"}
    document = api.get("/ss/api/usage", content=body, headers=headers).json()
    assert (document["from"], document["to"], ids(document)) == (
        "2026-11-01T00:00:00Z",
        "2026-11-03T00:00:00Z",
        ["s-1"],
    )
    overridden = api.get("/ss/api/usage?from=2026-11-02T11:00:00Z", content=body, headers=headers)
    assert overridden.json()["from"] == "2026-11-02T11:00:00Z"
    assert ids(overridden.json()) == []
    numbers = api.get("/ss/api/usage", content=b'{"from": 1793577600, "to": "1793664000"}').json()
    assert ids(numbers) == ["s-1"]


def test_a_bad_timestamp_in_the_body_is_named(api: Api) -> None:
    response = api.get("/ss/api/usage", content=b'{"from": "soon"}')
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "from"


def test_unencoded_plus_in_an_offset(api: Api) -> None:
    document = api.get("/ss/api/usage?from=2026-11-01T10:00:00+01:00&to=2026-11-02").json()
    assert document["from"] == "2026-11-01T09:00:00Z"


def test_stats_add_up_and_equal_the_sessions(api: Api) -> None:
    api.import_sessions(
        session_body(
            "a1",
            agent="Alice@Example.com",
            start="2026-11-02T10:00:00Z",
            end="2026-11-02T10:30:00Z",
        ),
        session_body(
            "a2",
            agent="alice@example.com",
            start="2026-11-03T10:00:00.600Z",
            end="2026-11-03T10:00:10.500Z",
        ),
        session_body(
            "b1", agent="bob@example.com", start="2026-11-04T10:00:00Z", end="2026-11-04T10:20:00Z"
        ),
    )
    document = api.usage(**WINDOW)
    assert document["stats"] == {
        "total": {"meetings": 3, "seconds": 1800 + 9 + 1200},
        "per_agent": {
            "alice@example.com": {"meetings": 2, "seconds": 1809},
            "bob@example.com": {"meetings": 1, "seconds": 1200},
        },
    }
    assert [s["duration"] for s in document["sessions"]] == [1800, 9, 1200]
    assert [s["agent"] for s in document["sessions"]] == ["alice@example.com"] * 2 + [
        "bob@example.com"
    ]


def test_agent_filter_is_repeatable_case_insensitive_and_restricts_stats(api: Api) -> None:
    api.import_sessions(
        session_body("a", agent="alice@example.com"),
        session_body(
            "b", agent="bob@example.com", start="2026-11-02T11:00:00Z", end="2026-11-02T11:10:00Z"
        ),
        session_body(
            "c", agent="carol@example.com", start="2026-11-02T12:00:00Z", end="2026-11-02T12:10:00Z"
        ),
    )
    response = api.get(
        "/ss/api/usage", params={**WINDOW, "agent": ["ALICE@example.com", "bob@EXAMPLE.com"]}
    )
    document = response.json()
    assert ids(document) == ["a", "b"]
    assert set(document["stats"]["per_agent"]) == {"alice@example.com", "bob@example.com"}
    assert document["stats"]["total"]["meetings"] == 2


@pytest.mark.parametrize(
    "agent",
    ["", "alice", "a@b@c", "@example.com", "alice@", "al ice@example.com", "a" * 250 + "@b.cd"],
)
def test_agent_must_be_an_email(api: Api, agent: str) -> None:
    response = api.get("/ss/api/usage", params={**WINDOW, "agent": agent})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "agent"


def test_ongoing_session_runs_to_now_and_counts(api: Api) -> None:
    started = time.time() - 3600
    api.import_sessions(session_body("live", start=str(int(started)), end=None))
    document = api.usage(**{"from": str(int(started) - 10)})
    [session] = document["sessions"]
    assert session["end"] is None
    assert 3599 <= session["duration"] <= 3600 + 60
    assert document["stats"]["total"]["seconds"] == session["duration"]


def test_include_selects_parts(api: Api) -> None:
    api.import_sessions(session_body())
    only_stats = api.usage(**WINDOW, include="stats")
    assert (
        "stats" in only_stats and "sessions" not in only_stats and "next_cursor" not in only_stats
    )
    only_sessions = api.usage(**WINDOW, include="sessions")
    assert "stats" not in only_sessions and ids(only_sessions) == ["s-1"]
    assert only_sessions["next_cursor"] is None
    both = api.usage(**WINDOW, include="sessions,stats")
    assert "stats" in both and "sessions" in both
    for bad in ("", "stats,nope", "everything"):
        assert api.get("/ss/api/usage", params={**WINDOW, "include": bad}).status_code == 400


def test_sessions_ordered_by_start_then_id_and_shares_by_at(api: Api) -> None:
    same = "2026-11-02T10:00:00Z"
    api.import_sessions(
        session_body("b", start=same),
        session_body("a", start=same),
        session_body("Z", start=same),
        session_body(
            "early",
            start="2026-11-01T10:00:00Z",
            shares=[
                {
                    "at": "2026-11-01T10:05:00Z",
                    "type": "tab",
                    "title": "later",
                    "url": "https://x.io",
                },
                {"at": "2026-11-01T10:01:00Z", "type": "window", "title": "first tie"},
                {"at": "2026-11-01T10:01:00Z", "type": "other", "title": "second tie"},
            ],
        ),
    )
    document = api.usage(**WINDOW)
    assert ids(document) == ["early", "Z", "a", "b"]  # code-point order: "Z" < "a"
    shares = document["sessions"][0]["shares"]
    assert [s["title"] for s in shares] == ["first tie", "second tie", "later"]
    assert shares[0] == {
        "at": "2026-11-01T10:01:00Z",
        "type": "window",
        "title": "first tie",
        "url": None,
    }


def test_viewer_locations_grouped_counted_and_ordered(api: Api) -> None:
    joined = "2026-11-02T10:01:00Z"

    def viewer(n: int, **location: str | None) -> dict[str, Any]:
        return {"id": f"v-{n}", "joined": joined, "location": location}

    api.import_sessions(
        session_body(
            viewers=[
                viewer(1, country="US"),
                viewer(2, country="IS", region="Capital Region", city="Reykjavik"),
                viewer(3, country="US"),
                viewer(4),
                viewer(5, country="IS", region="Capital Region", city="Reykjavik"),
                viewer(6, country="DE", city="Berlin"),
                viewer(7, country="DE"),
                viewer(8, country="DE", region="Berlin", city="Berlin"),
                {"id": "v-9", "joined": joined},
            ]
        )
    )
    [session] = api.usage(**WINDOW)["sessions"]
    # Count descending, then country, region, city ascending with nulls last.
    assert session["viewers"] == {
        "count": 9,
        "peak": 9,
        "locations": [
            {"country": "IS", "region": "Capital Region", "city": "Reykjavik", "count": 2},
            {"country": "US", "region": None, "city": None, "count": 2},
            {"country": None, "region": None, "city": None, "count": 2},
            {"country": "DE", "region": "Berlin", "city": "Berlin", "count": 1},
            {"country": "DE", "region": None, "city": "Berlin", "count": 1},
            {"country": "DE", "region": None, "city": None, "count": 1},
        ],
    }


def test_no_request_sees_another_accounts_data(api: Api, other_tenant: Any) -> None:
    api.import_sessions(session_body("mine"))
    other = Api(api.client, other_tenant)
    other.import_sessions(session_body("mine", agent="intruder@example.com"))
    assert ids(other.usage(**WINDOW)) == ["mine"]
    assert api.usage(**WINDOW)["sessions"][0]["agent"] == "alice@example.com"
    assert other.usage(**WINDOW)["stats"]["per_agent"] == {
        "intruder@example.com": {"meetings": 1, "seconds": 1800}
    }
    assert api.get("/ss/api/sessions/mine").json()["agent"] == "alice@example.com"
