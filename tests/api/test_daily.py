"""GET /ss/api/usage/daily: every day present, days cut in the asked time zone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sharelog.timestamps import format_timestamp, now_us, parse_timestamp
from tests.conftest import Api, Tenant, session_body


def daily(api: Api, **params: object) -> dict[str, Any]:
    response = api.get("/ss/api/usage/daily", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def meeting(sid: str, start: str, seconds: float = 1800, **extra: object) -> dict[str, object]:
    """A session of ``seconds`` from ``start``."""
    end = format_timestamp(parse_timestamp(start) + int(seconds * 1_000_000))
    return session_body(sid, start=start, end=end, **extra)


def window(start: str, end: str, **extra: object) -> dict[str, object]:
    return {"from": start, "to": end, **extra}


def by_date(document: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {d["date"]: (d["meetings"], d["seconds"]) for d in document["days"]}


def test_every_day_is_present_with_zeros(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z", end="2026-11-02T10:30:00Z"),
        session_body("b", start="2026-11-02T23:00:00Z", end="2026-11-02T23:20:00.900Z"),
        session_body("c", start="2026-11-04T08:00:00Z", end="2026-11-04T09:00:00Z"),
    )
    document = daily(api, **window("2026-11-01", "2026-11-05"))
    assert document == {
        "tz": "UTC",
        "days": [
            {"date": "2026-11-01", "meetings": 0, "seconds": 0},
            {"date": "2026-11-02", "meetings": 2, "seconds": 1800 + 1200},
            {"date": "2026-11-03", "meetings": 0, "seconds": 0},
            {"date": "2026-11-04", "meetings": 1, "seconds": 3600},
        ],
    }
    stats = api.usage(**window("2026-11-01", "2026-11-05", include="stats"))["stats"]["total"]
    assert stats == {
        "meetings": sum(d["meetings"] for d in document["days"]),
        "seconds": sum(d["seconds"] for d in document["days"]),
    }


def test_window_is_half_open_and_runs_to_the_day_of_the_last_instant(api: Api) -> None:
    api.import_sessions(
        meeting("at-from", "2026-11-02T00:00:00Z"),
        meeting("at-to", "2026-11-04T00:00:00Z"),
    )
    # `to` at midnight: the 4th holds no instant of the window, so it is not listed.
    document = daily(api, **window("2026-11-02", "2026-11-04"))
    assert by_date(document) == {"2026-11-02": (1, 1800), "2026-11-03": (0, 0)}
    # A window within one day is that one day.
    document = daily(api, **window("2026-11-02T10:00:00Z", "2026-11-02T10:00:01Z"))
    assert [d["date"] for d in document["days"]] == ["2026-11-02"]


def test_default_window_is_usages_28_days(api: Api) -> None:
    document = daily(api, to="2026-11-24T09:00:00Z")
    dates = [d["date"] for d in document["days"]]
    # from = 2026-10-27T09:00Z: its day and every day through the 24th.
    assert dates[0] == "2026-10-27" and dates[-1] == "2026-11-24" and len(dates) == 29
    before = datetime.now(UTC).date()
    dates = [d["date"] for d in daily(api)["days"]]
    after = datetime.now(UTC).date()
    today = date.fromisoformat(dates[-1])
    assert before <= today <= after
    assert dates[0] == (today - timedelta(days=28)).isoformat() and len(dates) == 29


def test_days_are_cut_in_the_time_zone(api: Api) -> None:
    api.import_sessions(
        session_body("late", start="2026-11-02T23:30:00Z", end="2026-11-02T23:40:00Z"),
        session_body("kolkata", start="2026-11-02T18:40:00Z", end="2026-11-02T18:50:00Z"),
    )
    berlin = daily(
        api, **window("2026-11-02T00:00:00+01:00", "2026-11-04T00:00:00+01:00", tz="Europe/Berlin")
    )
    assert berlin["tz"] == "Europe/Berlin"
    # 23:30Z is 00:30 on the 3rd in Berlin.
    assert by_date(berlin) == {"2026-11-02": (1, 600), "2026-11-03": (1, 600)}
    # +05:30: 18:40Z is 00:10 the next day there.
    india = daily(api, **window("2026-11-02", "2026-11-04", tz="Asia/Kolkata"))
    assert by_date(india)["2026-11-03"] == (2, 1200)
    # +05:45: 18:10Z is 23:55, 18:20Z is 00:05 the next day.
    api.import_sessions(
        meeting("k1", "2026-11-05T18:10:00Z"),
        meeting("k2", "2026-11-05T18:20:00Z"),
    )
    nepal = daily(api, **window("2026-11-05", "2026-11-07", tz="Asia/Kathmandu"))
    assert by_date(nepal)["2026-11-05"] == (1, 1800)
    assert by_date(nepal)["2026-11-06"] == (1, 1800)


def test_a_dst_change_keeps_each_day_once(api: Api) -> None:
    # Europe/Berlin left summer time on 2026-10-25: that day has 25 hours.
    api.import_sessions(
        session_body("dst", start="2026-10-25T22:30:00Z", end="2026-10-25T22:40:00Z"),
        session_body("summer", start="2026-10-24T22:30:00Z", end="2026-10-24T22:40:00Z"),
    )
    document = daily(
        api, **window("2026-10-24T22:00:00Z", "2026-10-26T23:00:00Z", tz="Europe/Berlin")
    )
    # 22:30Z is 23:30 CET (UTC+1 once summer time ended), so still the 25th there;
    # the day before, 22:30Z was 00:30 CEST (UTC+2) on the 25th.
    assert by_date(document) == {"2026-10-25": (2, 1200), "2026-10-26": (0, 0)}


def test_the_short_spring_day_is_one_day(api: Api) -> None:
    # 2026-03-29 has 23 hours in Berlin: from 23:00Z on the 28th (CET) to 22:00Z (CEST).
    api.import_sessions(
        meeting("before", "2026-03-28T22:59:00Z"),
        meeting("first", "2026-03-28T23:00:00Z"),
        meeting("last", "2026-03-29T21:59:00Z"),
        meeting("next", "2026-03-29T22:00:00Z"),
    )
    document = daily(
        api, **window("2026-03-28T12:00:00Z", "2026-03-30T12:00:00Z", tz="Europe/Berlin")
    )
    assert by_date(document) == {
        "2026-03-28": (1, 1800),
        "2026-03-29": (2, 3600),
        "2026-03-30": (1, 1800),
    }


def test_offsets_that_are_not_quarter_hours_still_cut_at_local_midnight(api: Api) -> None:
    # Amsterdam kept mean time, UTC+00:19:32, until 1937: its midnight is 23:40:28Z.
    api.import_sessions(
        session_body("before", start="1900-01-01T23:35:00Z", end="1900-01-01T23:36:00Z"),
        session_body("after", start="1900-01-01T23:42:00Z", end="1900-01-01T23:44:00Z"),
    )
    document = daily(api, **window("1900-01-01", "1900-01-03", tz="Europe/Amsterdam"))
    assert by_date(document) == {
        "1900-01-01": (1, 60),
        "1900-01-02": (1, 120),
        "1900-01-03": (0, 0),
    }


def test_sessions_before_1970_land_on_their_own_day(api: Api) -> None:
    api.import_sessions(
        session_body("eve", start="1969-12-31T23:59:00Z", end="1970-01-01T00:01:00Z"),
        session_body("epoch", start="1970-01-01T00:00:00Z", end="1970-01-01T00:00:30Z"),
    )
    document = daily(api, **window("1969-12-31", "1970-01-02"))
    assert by_date(document) == {"1969-12-31": (1, 120), "1970-01-01": (1, 30)}


def test_an_ongoing_session_counts_up_to_now(api: Api) -> None:
    start = now_us() - 600 * 1_000_000
    api.import_sessions(session_body("live", start=format_timestamp(start), end=None))
    days = daily(api)["days"]
    meetings = sum(d["meetings"] for d in days)
    seconds = sum(d["seconds"] for d in days)
    assert meetings == 1 and 600 <= seconds <= 660


def test_agent_filter(api: Api) -> None:
    api.import_sessions(
        session_body("a", agent="a@example.com"),
        session_body("b", agent="b@example.com"),
        session_body("c", agent="c@example.com"),
    )
    one = daily(api, **window("2026-11-02", "2026-11-03", agent="B@example.com"))
    assert one["days"] == [{"date": "2026-11-02", "meetings": 1, "seconds": 1800}]
    response = api.get(
        "/ss/api/usage/daily?from=2026-11-02&to=2026-11-03&agent=a@example.com&agent=c@example.com"
    )
    assert response.json()["days"] == [{"date": "2026-11-02", "meetings": 2, "seconds": 3600}]


def test_only_the_keys_account_is_counted(api: Api, other_tenant: Tenant) -> None:
    api.import_sessions(session_body("mine"))
    other = Api(api.client, other_tenant)
    other.import_sessions(session_body("theirs"), session_body("theirs-2"))
    assert by_date(daily(api, **window("2026-11-02", "2026-11-03"))) == {"2026-11-02": (1, 1800)}


def test_a_key_is_required(api: Api) -> None:
    response = api.client.get("/ss/api/usage/daily")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


ZONES = ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kathmandu", "Australia/Lord_Howe")


def test_days_match_each_sessions_local_start_and_add_up_to_the_stats(api: Api) -> None:
    rng = random.Random(7)
    base = parse_timestamp("2026-03-20")
    bodies = []
    for n in range(300):
        start = base + rng.randrange(30 * 86_400) * 1_000_000 + rng.randrange(1_000_000)
        length = rng.randrange(4 * 3600) * 1_000_000 + rng.randrange(1_000_000)
        bodies.append(
            session_body(
                f"s-{n}",
                agent=f"agent{n % 3}@example.com",
                start=format_timestamp(start) if n % 2 else str(start / 1_000_000),
                end=format_timestamp(start + length) if n % 2 else str((start + length) / 1e6),
            )
        )
    api.import_sessions(*bodies)
    params = window("2026-03-22T05:00:00Z", "2026-04-15T17:00:00Z")
    sessions = api.usage(**params, include="sessions")["sessions"]
    stats = api.usage(**params, include="stats")["stats"]["total"]
    for name in ZONES:
        zone = ZoneInfo(name)
        expected: dict[str, tuple[int, int]] = {}
        for session in sessions:
            # Whole seconds as the API writes them: a local midnight is on a whole second.
            day = datetime.fromisoformat(session["start"]).astimezone(zone).date().isoformat()
            meetings, seconds = expected.get(day, (0, 0))
            expected[day] = (meetings + 1, seconds + session["duration"])
        document = daily(api, **params, tz=name)
        got = {day: figures for day, figures in by_date(document).items() if figures[0]}
        assert got == expected, name
        assert sum(d["meetings"] for d in document["days"]) == stats["meetings"]
        assert sum(d["seconds"] for d in document["days"]) == stats["seconds"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("tz=Mars/Olympus", "tz"),
        ("tz=../etc/passwd", "tz"),
        ("tz=", "tz"),
        ("tz=utc", "tz"),
        ("tz=America", "tz"),
        ("tz=localtime", "tz"),
        ("tz=posixrules", "tz"),
        ("tz=" + "a" * 300, "tz"),
        ("tz=Europe/Berlin%00", "tz"),
        ("tz=UTC&tz=UTC", "tz"),
        ("from=2026-11-01&from=2026-11-01", "from"),
        ("to=2026-11-01&to=2026-11-01", "to"),
        ("from=2026-11-03&to=2026-11-02", "from"),
        ("from=2026-11-02&to=2026-11-02", "from"),
        ("from=yesterday", "from"),
        ("to=soon", "to"),
        ("agent=nobody", "agent"),
        ("from=1900-01-01&to=2026-01-01", "from"),
        ("from=0001-01-01&to=0001-01-02&tz=America/New_York", "from"),
        ("from=9999-12-30&to=9999-12-31T23:00:00Z&tz=Asia/Tokyo", "to"),
    ],
)
def test_bad_parameters_are_400(api: Api, query: str, parameter: str) -> None:
    response = api.get(f"/ss/api/usage/daily?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == {
        "code": "invalid_parameter",
        "message": response.json()["error"]["message"],
        "parameter": parameter,
    }


def test_the_first_and_last_days_there_are(api: Api) -> None:
    api.import_sessions(meeting("y1", "0001-01-01T00:00:00Z"))
    document = daily(api, to="0001-01-02")
    assert document["days"] == [{"date": "0001-01-01", "meetings": 1, "seconds": 1800}]
    document = daily(api, **window("9999-12-31", "9999-12-31T23:59:59Z", tz="UTC"))
    assert [d["date"] for d in document["days"]] == ["9999-12-31"]


def test_daily_is_in_the_openapi_document(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    operation = document["paths"]["/ss/api/usage/daily"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "tz", "agent"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/DailyUsage"}
    assert set(document["components"]["schemas"]["Day"]["properties"]) == {
        "date",
        "meetings",
        "seconds",
    }
    assert "400" in operation["responses"]
