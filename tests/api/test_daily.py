"""GET /ss/api/usage/daily: every day present, days cut in the asked time zone."""

from __future__ import annotations

import pytest

from tests.conftest import Api, session_body


def daily(api: Api, **params: object) -> dict:  # type: ignore[type-arg]
    response = api.get("/ss/api/usage/daily", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_every_day_is_present_with_zeros(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z", end="2026-11-02T10:30:00Z"),
        session_body("b", start="2026-11-02T23:00:00Z", end="2026-11-02T23:20:00.900Z"),
        session_body("c", start="2026-11-04T08:00:00Z", end="2026-11-04T09:00:00Z"),
    )
    document = daily(api, **{"from": "2026-11-01", "to": "2026-11-05"})
    assert document == {
        "tz": "UTC",
        "days": [
            {"date": "2026-11-01", "meetings": 0, "seconds": 0},
            {"date": "2026-11-02", "meetings": 2, "seconds": 1800 + 1200},
            {"date": "2026-11-03", "meetings": 0, "seconds": 0},
            {"date": "2026-11-04", "meetings": 1, "seconds": 3600},
        ],
    }
    stats = api.usage(**{"from": "2026-11-01", "to": "2026-11-05", "include": "stats"})["stats"][
        "total"
    ]
    assert stats == {
        "meetings": sum(d["meetings"] for d in document["days"]),
        "seconds": sum(d["seconds"] for d in document["days"]),
    }


def test_days_are_cut_in_the_time_zone(api: Api) -> None:
    api.import_sessions(
        session_body("late", start="2026-11-02T23:30:00Z", end="2026-11-02T23:40:00Z"),
        session_body("kolkata", start="2026-11-02T18:40:00Z", end="2026-11-02T18:50:00Z"),
    )
    berlin = daily(
        api,
        **{
            "from": "2026-11-02T00:00:00+01:00",
            "to": "2026-11-04T00:00:00+01:00",
            "tz": "Europe/Berlin",
        },
    )
    assert berlin["tz"] == "Europe/Berlin"
    assert [(d["date"], d["meetings"]) for d in berlin["days"]] == [
        ("2026-11-02", 1),
        ("2026-11-03", 1),
    ]
    # +05:30: 18:40Z is 00:10 the next day there.
    india = daily(api, **{"from": "2026-11-02", "to": "2026-11-04", "tz": "Asia/Kolkata"})
    assert {d["date"]: d["meetings"] for d in india["days"]}["2026-11-03"] == 2


def test_a_dst_change_keeps_each_day_once(api: Api) -> None:
    # Europe/Berlin left summer time on 2026-10-25: that day has 25 hours.
    api.import_sessions(
        session_body("dst", start="2026-10-25T22:30:00Z", end="2026-10-25T22:40:00Z")
    )
    document = daily(
        api, **{"from": "2026-10-24T22:00:00Z", "to": "2026-10-26T23:00:00Z", "tz": "Europe/Berlin"}
    )
    assert [d["date"] for d in document["days"]] == ["2026-10-25", "2026-10-26"]
    # 22:30Z is 23:30 CET (UTC+1 once summer time ended), so still the 25th there.
    assert [d["meetings"] for d in document["days"]] == [1, 0]


def test_agent_filter(api: Api) -> None:
    api.import_sessions(
        session_body("a", agent="a@example.com"), session_body("b", agent="b@example.com")
    )
    document = daily(api, **{"from": "2026-11-02", "to": "2026-11-03", "agent": "B@example.com"})
    assert document["days"] == [{"date": "2026-11-02", "meetings": 1, "seconds": 1800}]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("tz=Mars/Olympus", "tz"),
        ("tz=../etc/passwd", "tz"),
        ("tz=UTC&tz=UTC", "tz"),
        ("from=2026-11-03&to=2026-11-02", "from"),
        ("from=yesterday", "from"),
        ("agent=nobody", "agent"),
    ],
)
def test_bad_parameters_are_400(api: Api, query: str, parameter: str) -> None:
    response = api.get(f"/ss/api/usage/daily?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter


def test_daily_is_in_the_openapi_document(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    assert "/ss/api/usage/daily" in document["paths"]
