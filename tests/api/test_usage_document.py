"""GET /ss/api/usage: the shape of the document, its timestamps, order, shares and locations."""

from __future__ import annotations

from typing import Any

from tests.api.documents import WHOLE_SECONDS_UTC, WINDOW, ids
from tests.conftest import Api, session_body


def test_response_timestamps_are_whole_seconds_utc_with_z(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            start="2026-11-02T11:00:00.999+01:00",
            end="2026-11-02T10:30:00.5",
            shares=[{"at": "1793613600.75", "type": "screen"}],
        )
    )
    document = api.usage(**{"from": "2026-11-01T00:00:00.5+00:30", "to": "2026-11-10T00:00:00.9Z"})
    session = document["sessions"][0]
    assert (document["from"], document["to"]) == ("2026-10-31T23:30:00Z", "2026-11-10T00:00:00Z")
    assert (session["start"], session["end"]) == ("2026-11-02T10:00:00Z", "2026-11-02T10:30:00Z")
    assert session["shares"][0]["at"] == "2026-11-02T10:00:00Z"
    for text in (document["from"], document["to"], session["start"], session["end"]):
        assert WHOLE_SECONDS_UTC.fullmatch(text)


def test_sessions_are_ordered_by_start_then_id_by_code_point(api: Api) -> None:
    api.import_sessions(
        session_body("b", start="2026-11-02T10:00:00Z"),
        session_body("a", start="2026-11-02T10:00:00Z"),
        session_body("B", start="2026-11-02T10:00:00Z"),
        session_body("_", start="2026-11-02T10:00:00Z"),
        session_body("early", start="2026-11-02T09:59:59.999999Z"),
        session_body("late", start="2026-11-02T10:00:00.000001Z"),
    )
    assert ids(api.usage(**WINDOW)) == ["early", "B", "_", "a", "b", "late"]


def test_shares_are_ordered_by_at_and_ties_keep_the_array_order(api: Api) -> None:
    shares = [
        {"at": "2026-11-02T10:05:00Z", "type": "tab", "title": "B", "url": "https://b.example"},
        {"at": "2026-11-02T10:01:00Z", "type": "screen", "title": "A"},
        {"at": "2026-11-02T10:05:00.500Z", "type": "other", "title": "E", "url": None},
        {"at": "2026-11-02T10:05:00Z", "type": "window", "title": "C"},
        {"at": "2026-11-02T10:05:00Z", "type": "tab", "title": "D"},
    ]
    api.import_sessions(session_body("s-1", shares=shares))
    listed = api.usage(**WINDOW)["sessions"][0]["shares"]
    assert [s["title"] for s in listed] == ["A", "B", "C", "D", "E"]
    assert listed[0] == {"at": "2026-11-02T10:01:00Z", "type": "screen", "title": "A", "url": None}
    assert listed[1]["url"] == "https://b.example"
    assert listed[4]["at"] == "2026-11-02T10:05:00Z"


def test_a_share_title_defaults_to_empty(api: Api) -> None:
    api.import_sessions(session_body("s-1", shares=[{"at": "2026-11-02T10:00:00Z", "type": "tab"}]))
    share = api.usage(**WINDOW)["sessions"][0]["shares"][0]
    assert (share["title"], share["url"]) == ("", None)


def viewer(
    vid: str, country: str | None, region: str | None = None, city: str | None = None
) -> dict[str, Any]:
    location = {"country": country, "region": region, "city": city}
    return {"id": vid, "joined": "2026-11-02T10:01:00Z", "location": location}


def test_locations_group_viewers_ordered_by_count_then_code_point_with_nulls_last(
    api: Api,
) -> None:
    viewers = [
        viewer("v01", None),
        viewer("v02", "IS", "Capital Region", None),
        viewer("v03", "IS", "Capital Region", "Reykjavik"),
        viewer("v04", "US"),
        viewer("v05", "IS", None, None),
        viewer("v06", "US"),
        viewer("v07", "IS", "Capital Region", "Kópavogur"),
        viewer("v08", "DE", "Berlin", "Berlin"),
        viewer("v09", "IS", "alpha", None),
        viewer("v10", "IS", "Zeta", None),
        viewer("v11", "IS", "Capital Region", "Reykjavik"),
        viewer("v12", "US"),
    ]
    api.import_sessions(session_body("s-1", viewers=viewers))
    session = api.usage(**WINDOW)["sessions"][0]
    assert session["viewers"]["count"] == 12
    assert [
        (g["country"], g["region"], g["city"], g["count"]) for g in session["viewers"]["locations"]
    ] == [
        ("US", None, None, 3),
        ("IS", "Capital Region", "Reykjavik", 2),
        ("DE", "Berlin", "Berlin", 1),
        ("IS", "Capital Region", "Kópavogur", 1),
        ("IS", "Capital Region", None, 1),
        ("IS", "Zeta", None, 1),
        ("IS", "alpha", None, 1),
        ("IS", None, None, 1),
        (None, None, None, 1),
    ]


def test_a_session_without_viewers_or_shares_has_empty_lists(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    session = api.usage(**WINDOW)["sessions"][0]
    assert session == {
        "id": "s-1",
        "agent": "alice@example.com",
        "agent_name": None,
        "start": "2026-11-02T10:00:00Z",
        "end": "2026-11-02T10:30:00Z",
        "duration": 1800,
        "shares": [],
        "viewers": {"count": 0, "peak": 0, "locations": []},
        "webcam_seconds": 0,
    }


def test_the_document_matches_the_contracts_example(api: Api) -> None:
    api.import_sessions(
        {
            "id": "s-1001",
            "agent": "alice@example.com",
            "start": "2026-11-02T10:00:00Z",
            "end": "2026-11-02T10:30:00Z",
            "shares": [
                {
                    "at": "2026-11-02T10:00:03Z",
                    "type": "screen",
                    "title": "Entire screen",
                    "url": None,
                },
                {
                    "at": "2026-11-02T10:12:40Z",
                    "type": "tab",
                    "title": "Pricing",
                    "url": "https://example.com/pricing",
                },
            ],
            "viewers": [
                {
                    "id": "v-1",
                    "joined": "2026-11-02T10:01:00Z",
                    "left": "2026-11-02T10:29:00Z",
                    "ip": "8.8.8.8",
                },
                {
                    "id": "v-2",
                    "joined": "2026-11-02T10:05:00Z",
                    "left": None,
                    "location": {"country": "IS", "region": "Capital Region", "city": "Reykjavik"},
                },
            ],
        },
        session_body(
            "s-1002",
            agent="bob@example.com",
            start="2026-11-03T14:00:00Z",
            end="2026-11-03T14:20:00Z",
        ),
    )
    document = api.usage(**{"from": "2026-10-27T09:00:00Z", "to": "2026-11-24T09:00:00Z"})
    assert document == {
        "from": "2026-10-27T09:00:00Z",
        "to": "2026-11-24T09:00:00Z",
        "stats": {
            "total": {"meetings": 2, "seconds": 3000},
            "per_agent": {
                "alice@example.com": {"meetings": 1, "seconds": 1800},
                "bob@example.com": {"meetings": 1, "seconds": 1200},
            },
        },
        "sessions": [
            {
                "id": "s-1001",
                "agent": "alice@example.com",
                "agent_name": None,
                "start": "2026-11-02T10:00:00Z",
                "end": "2026-11-02T10:30:00Z",
                "duration": 1800,
                "shares": [
                    {
                        "at": "2026-11-02T10:00:03Z",
                        "type": "screen",
                        "title": "Entire screen",
                        "url": None,
                    },
                    {
                        "at": "2026-11-02T10:12:40Z",
                        "type": "tab",
                        "title": "Pricing",
                        "url": "https://example.com/pricing",
                    },
                ],
                "viewers": {
                    "count": 2,
                    "peak": 2,
                    "locations": [
                        {
                            "country": "IS",
                            "region": "Capital Region",
                            "city": "Reykjavik",
                            "count": 1,
                        },
                        {"country": "US", "region": None, "city": None, "count": 1},
                    ],
                },
                "webcam_seconds": 0,
            },
            {
                "id": "s-1002",
                "agent": "bob@example.com",
                "agent_name": None,
                "start": "2026-11-03T14:00:00Z",
                "end": "2026-11-03T14:20:00Z",
                "duration": 1200,
                "shares": [],
                "viewers": {"count": 0, "peak": 0, "locations": []},
                "webcam_seconds": 0,
            },
        ],
        "next_cursor": None,
    }


def test_the_response_is_json(api: Api) -> None:
    response = api.get("/ss/api/usage", params=WINDOW)
    assert response.headers["content-type"].startswith("application/json")


def test_an_empty_window_has_zero_figures(api: Api) -> None:
    document = api.usage(**WINDOW)
    assert document["stats"] == {"total": {"meetings": 0, "seconds": 0}, "per_agent": {}}
    assert (document["sessions"], document["next_cursor"]) == ([], None)


def test_a_window_given_as_dates_is_in_utc(api: Api) -> None:
    # A session at 23:30 -01:00 is 00:30 UTC on the next day: outside a window ending at midnight.
    api.import_sessions(session_body("s-1", start="2026-11-01T23:30:00-01:00", end=None))
    assert ids(api.usage(**{"from": "2026-11-01", "to": "2026-11-02"})) == []
    assert ids(api.usage(**{"from": "2026-11-02", "to": "2026-11-03"})) == ["s-1"]
