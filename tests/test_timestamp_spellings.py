"""Every timestamp spelling the contract accepts, and round trips of the ones we write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharelog.timestamps import (
    TimestampError,
    format_timestamp,
    from_datetime,
    parse_timestamp,
    whole_seconds,
)

EXPECTED = from_datetime(datetime(2026, 11, 1, 9, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T09:00:00Z", EXPECTED),
        ("2026-11-01t09:00:00z", EXPECTED),
        ("2026-11-01T10:00:00+01:00", EXPECTED),
        ("2026-11-01T10:00:00 01:00", EXPECTED),  # an unencoded + in a query string
        ("2026-11-01T04:30:00-04:30", EXPECTED),
        ("2026-11-01T10:00:00.250+01:00", EXPECTED + 250_000),
        (
            "2026-11-01T09:00:00.123456789Z",
            EXPECTED + 123_456,
        ),  # finer than a microsecond: truncated
        ("2026-11-01T09:00:00", EXPECTED),  # no offset: UTC
        ("2026-11-01 09:00:00", EXPECTED),
        ("2026-11-01", EXPECTED - 9 * 3600 * 1_000_000),
        (str(EXPECTED // 1_000_000), EXPECTED),
        (f"{EXPECTED // 1_000_000}.5", EXPECTED + 500_000),
        (EXPECTED // 1_000_000, EXPECTED),  # a JSON number
        (EXPECTED / 1_000_000 + 0.25, EXPECTED + 250_000),
    ],
)
def test_accepted_spellings(text: object, expected: int) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        " 2026-11-01",
        "2026-13-01",
        "2026-02-30",
        "2026-11-01T25:00:00Z",
        "2026-11-01T09:00:60Z",
        "2026-11-01T09:00:00+24:00",
        "2026-11-01T",
        "11/01/2026",
        "1e9",
        "0x10",
        "99999999999999999999",
        True,
        None,
        [2026],
        float("nan"),
        float("inf"),
    ],
)
def test_anything_else_is_refused(text: object) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(text)


def test_output_is_utc_whole_seconds_with_z() -> None:
    assert format_timestamp(EXPECTED + 999_999) == "2026-11-01T09:00:00Z"
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert format_timestamp(-1) == "1969-12-31T23:59:59Z"


def test_durations_floor_and_never_go_negative() -> None:
    assert whole_seconds(EXPECTED + 900_000, EXPECTED + 1_800_100_000) == 1799
    assert whole_seconds(EXPECTED, EXPECTED - 5) == 0


moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(moments)
def test_rfc3339_round_trip_to_the_microsecond(moment: datetime) -> None:
    assert parse_timestamp(moment.isoformat()) == from_datetime(moment)


@given(moments, offsets)
def test_any_offset_names_the_same_instant(moment: datetime, offset: timezone) -> None:
    local = moment.astimezone(offset)
    assert parse_timestamp(local.isoformat()) == from_datetime(moment)
    # What a query string makes of an unencoded "+".
    assert parse_timestamp(local.isoformat().replace("+", " ")) == from_datetime(moment)


@given(moments)
def test_formatted_output_parses_back_to_the_whole_second(moment: datetime) -> None:
    us = from_datetime(moment)
    assert parse_timestamp(format_timestamp(us)) == us - us % 1_000_000


@given(st.integers(min_value=0, max_value=253_402_300_799), st.integers(0, 999_999))
def test_epoch_seconds_integer_and_decimal(seconds: int, micros: int) -> None:
    assert parse_timestamp(str(seconds)) == seconds * 1_000_000
    assert parse_timestamp(f"{seconds}.{micros:06d}") == seconds * 1_000_000 + micros
