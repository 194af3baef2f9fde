"""Meetings and seconds per local day: the SQL aggregates 15-minute buckets, Python
assigns them to days in the asked time zone (every zone's offset is a multiple of
15 minutes, so a bucket never straddles two local days)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from sharelog.domain import UsageQuery
from sharelog.store.schema import sessions
from sharelog.store.usage import duration_seconds, in_window
from sharelog.timestamps import to_datetime

BUCKET_US = 15 * 60 * 1_000_000


def daily_usage(
    conn: Connection, account_id: int, query: UsageQuery, zone: ZoneInfo
) -> list[dict[str, object]]:
    """Every local day from the one holding ``from`` to the one holding the last instant before ``to``."""
    bucket = sessions.c.start_us // BUCKET_US
    rows = conn.execute(
        select(bucket, func.count(), func.sum(duration_seconds(query.now_us)))
        .where(sessions.c.account_id == account_id, *in_window(query))
        .group_by(bucket)
    ).all()
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for start_bucket, meetings, seconds in rows:
        day = to_datetime(int(start_bucket) * BUCKET_US).astimezone(zone).date()
        totals[day][0] += int(meetings)
        totals[day][1] += int(seconds or 0)
    first = to_datetime(query.from_us).astimezone(zone).date()
    last = to_datetime(query.to_us - 1).astimezone(zone).date()
    days = []
    day = first
    while day <= last:
        meetings, seconds = totals.get(day, (0, 0))
        days.append({"date": day.isoformat(), "meetings": meetings, "seconds": seconds})
        day += timedelta(days=1)
    return days
