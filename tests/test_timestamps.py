"""Timestamps: every accepted spelling, rejections, truncation, and what responses write."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sharelog.timestamps import (
    MAX_US,
    MIN_US,
    TimestampError,
    format_timestamp,
    format_timestamp_us,
    from_datetime,
    parse_timestamp,
    to_datetime,
    whole_seconds,
)

US = 1_000_000
NINE = from_datetime(datetime(2026, 11, 1, 9, tzinfo=UTC))  # 2026-11-01T09:00:00Z
WRITTEN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
FAST = settings(max_examples=50, deadline=None)


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        # RFC 3339 / ISO 8601 with Z or an offset, fractions allowed
        ("2026-11-01T09:00:00Z", NINE),
        ("2026-11-01T10:00:00+01:00", NINE),
        ("2026-11-01T10:00:00.250+01:00", NINE + 250_000),
        ("2026-11-01T09:00:00.5Z", NINE + 500_000),
        ("2026-11-01T09:00:00.000001Z", NINE + 1),
        ("2026-11-01T04:30:00-04:30", NINE),
        ("2026-11-01T09:00:00+00:00", NINE),
        ("2026-11-01T09:00:00-00:00", NINE),
        ("2026-11-02T08:59:00+23:59", NINE),
        ("2026-11-01t09:00:00z", NINE),
        # an unencoded "+" in a query string arrives as a space
        ("2026-11-01T10:00:00 01:00", NINE),
        ("2026-11-01T10:00:00.250 01:00", NINE + 250_000),
        # without an offset: UTC
        ("2026-11-01T09:00:00", NINE),
        ("2026-11-01T09:00:00.75", NINE + 750_000),
        # a space instead of the "T"
        ("2026-11-01 09:00:00", NINE),
        # a date alone: midnight UTC
        ("2026-11-01", NINE - 9 * 3600 * US),
        # Unix seconds, integer or decimal, as text
        ("1793523600", NINE),
        ("1793523600.5", NINE + 500_000),
        ("1793523600.000001", NINE + 1),
        ("0", 0),
        # and as JSON numbers
        (1793523600, NINE),
        (1793523600.5, NINE + 500_000),
        (1793523600.25, NINE + 250_000),
    ],
)
def test_every_accepted_spelling(spelling: object, expected: int) -> None:
    assert parse_timestamp(spelling) == expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("2026-11-01T09:00:00.1234569Z", NINE + 123_456),
        ("2026-11-01T09:00:00.123456789Z", NINE + 123_456),
        ("2026-11-01T09:00:00.999999999Z", NINE + 999_999),
        ("2026-11-01T10:00:00.9999999+01:00", NINE + 999_999),
        ("1793523600.9999999", NINE + 999_999),
        ("1793523600.0000009", NINE),
    ],
)
def test_finer_fractions_are_truncated_not_rounded(spelling: str, expected: int) -> None:
    assert parse_timestamp(spelling) == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "",
        " ",
        "yesterday",
        "now",
        " 2026-11-01",
        "2026-11-01 ",
        "2026-11-1",
        "26-11-01",
        "2026/11/01",
        "11/01/2026",
        "2026-13-01",
        "2026-00-10",
        "2026-02-29",
        "2026-02-30",
        "2026-11-31",
        "2026-11-01T24:00:00Z",
        "2026-11-01T25:00:00Z",
        "2026-11-01T09:60:00Z",
        "2026-11-01T09:00:60Z",
        "2026-11-01T09:00:00+24:00",
        "2026-11-01T09:00:00+01:60",
        "2026-11-01T09:00:00+1",
        "2026-11-01T09:00:00.Z",
        "2026-11-01T09:00:00ZZ",
        "2026-11-01T",
        "2026-11-01T9:00:00Z",
        "T09:00:00Z",
        "09:00:00",
        "1e9",
        "0x10",
        "+1793523600",
        "1793523600.",
        ".5",
        "1_793_523_600",
        # digits, but not ASCII ones (Arabic-Indic)
        "\u0661\u0667\u0669\u0663\u0665\u0662\u0663\u0666\u0660\u0660",
        "2026-\u0661\u0661-01",
        "99999999999999999999",
        "10000-01-01",
        True,
        False,
        None,
        [1793523600],
        [2026],
        {"at": 1793523600},
        float("nan"),
        float("inf"),
        -float("inf"),
        10**30,
    ],
)
def test_anything_else_is_refused(spelling: object) -> None:
    with pytest.raises(TimestampError):
        parse_timestamp(spelling)


def test_years_1_to_9999_are_the_range() -> None:
    assert parse_timestamp("0001-01-01T00:00:00Z") == MIN_US
    assert parse_timestamp("9999-12-31T23:59:59.999999Z") == MAX_US
    for outside in ("0000-12-31", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"):
        with pytest.raises(TimestampError):
            parse_timestamp(outside)


@pytest.mark.parametrize(
    ("us", "written"),
    [
        (NINE, "2026-11-01T09:00:00Z"),
        (NINE + 999_999, "2026-11-01T09:00:00Z"),
        (NINE - 1, "2026-11-01T08:59:59Z"),
        (0, "1970-01-01T00:00:00Z"),
        (-1, "1969-12-31T23:59:59Z"),
        (MIN_US, "0001-01-01T00:00:00Z"),  # four-digit years, always
        (parse_timestamp("0999-05-06T07:08:09Z"), "0999-05-06T07:08:09Z"),
        (MAX_US, "9999-12-31T23:59:59Z"),
    ],
)
def test_responses_write_utc_whole_seconds_with_z(us: int, written: str) -> None:
    assert format_timestamp(us) == written


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (0, 999_999, 0),
        (0, US, 1),
        (900_000, 1_800_100_000, 1799),
        (100_000, 1_800_900_000, 1800),
        (NINE + 900_000, NINE + 1_800_100_000, 1799),
        (NINE, NINE - 5, 0),  # an end before the start: zero, never negative
    ],
)
def test_durations_are_the_floor_of_the_exact_instants(start: int, end: int, seconds: int) -> None:
    assert whole_seconds(start, end) == seconds


instants = st.integers(min_value=MIN_US, max_value=MAX_US)
aware_moments = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@FAST
@given(aware_moments)
def test_rfc3339_with_z_round_trips_to_the_microsecond(moment: datetime) -> None:
    text = moment.isoformat().replace("+00:00", "Z")
    assert parse_timestamp(text) == from_datetime(moment)
    assert to_datetime(parse_timestamp(text)) == moment
    assert parse_timestamp(moment.isoformat()) == from_datetime(moment)  # "+00:00" as well


@FAST
@given(aware_moments, offsets)
def test_every_offset_names_the_same_instant_also_with_a_space_for_plus(
    moment: datetime, offset: timezone
) -> None:
    local = moment.astimezone(offset).isoformat()
    assert parse_timestamp(local) == from_datetime(moment)
    assert parse_timestamp(local.replace("+", " ")) == from_datetime(moment)


@FAST
@given(aware_moments)
def test_a_date_time_without_an_offset_is_utc(moment: datetime) -> None:
    naive = moment.replace(tzinfo=None).isoformat()
    assert parse_timestamp(naive) == from_datetime(moment)
    assert parse_timestamp(naive[:10]) == from_datetime(
        moment.replace(hour=0, minute=0, second=0, microsecond=0)
    )


@FAST
@given(instants, st.integers(min_value=0, max_value=6), st.text("0123456789", max_size=6))
def test_fractions_of_any_length_are_truncated_to_the_microsecond(
    us: int, digits: int, finer: str
) -> None:
    whole, micros = divmod(us, US)
    written = format_timestamp(us)[:-1]
    fraction = f"{micros:06d}"[:digits]
    text = written + ("." + fraction + (finer if digits == 6 else "") if digits else "") + "Z"
    kept = int(fraction.ljust(6, "0")) if digits else 0
    assert parse_timestamp(text) == whole * US + kept


@FAST
@given(instants)
@example(0)
@example(-1)
def test_unix_seconds_round_trip_as_text_and_numbers(us: int) -> None:
    exact = str(Decimal(us) / US)  # exact decimal text, whatever its sign
    assert parse_timestamp(exact) == us
    seconds = us // US
    assert parse_timestamp(str(seconds)) == seconds * US
    assert parse_timestamp(seconds) == seconds * US


@FAST
@given(st.integers(min_value=0, max_value=253_402_300_799), st.integers(0, 999_999))
def test_unix_seconds_with_six_fraction_digits_are_exact(seconds: int, micros: int) -> None:
    assert parse_timestamp(f"{seconds}.{micros:06d}") == seconds * US + micros


@FAST
@given(st.floats(min_value=0, max_value=253_402_300_799, allow_nan=False))
def test_a_json_float_is_read_as_the_decimal_it_prints_as(value: float) -> None:
    assert parse_timestamp(value) == int(Decimal(repr(value)) * US // 1)


@FAST
@given(instants)
def test_what_is_written_parses_back_to_the_whole_second(us: int) -> None:
    written = format_timestamp(us)
    assert WRITTEN.fullmatch(written)
    assert parse_timestamp(written) == us - us % US


@FAST
@given(instants, instants)
def test_durations_are_never_negative(a: int, b: int) -> None:
    assert whole_seconds(a, b) >= 0
    assert whole_seconds(a, b) == (max(0, b - a)) // US


@FAST
@given(st.text(max_size=40))
def test_arbitrary_text_either_parses_into_range_or_is_refused(text: str) -> None:
    try:
        us = parse_timestamp(text)
    except TimestampError:
        return
    assert MIN_US <= us <= MAX_US


@given(st.integers(min_value=MIN_US, max_value=MAX_US))
@example(MIN_US)
@example(MAX_US)
@example(0)
def test_microsecond_instants_are_written_as_datetime_writes_them(us: int) -> None:
    moment = datetime(1970, 1, 1) + timedelta(microseconds=us)
    assert format_timestamp_us(us) == moment.isoformat(timespec="microseconds") + "Z"
