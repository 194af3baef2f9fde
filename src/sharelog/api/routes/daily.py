"""GET /ss/api/usage/daily: meetings and seconds per day, days cut in an IANA time zone."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import reader
from sharelog.api.conditional import WindowAnswer, precondition
from sharelog.api.operations import AGENT, ERRORS, FROM, TO, documented, query_parameter
from sharelog.api.params import email_param, single, timestamp_param
from sharelog.api.responses import json_response
from sharelog.api.usage_request import usage_window
from sharelog.domain import Principal, UsageQuery
from sharelog.errors import InvalidParameter
from sharelog.store.daily import daily_totals, local_date
from sharelog.timestamps import now_us

router = APIRouter(tags=["usage"])
_TZ = "IANA time zone the days are cut in; default UTC."
# A window's answer has a line per day: a century of days is about 1.8 MB.
MAX_DAYS = 36_525
DAY_US = 86_400 * 1_000_000


class Day(BaseModel):
    date: str = Field(description="The local date, YYYY-MM-DD.", examples=["2026-11-01"])
    meetings: int = Field(description="Sessions that started on this local date.")
    seconds: int = Field(description="The sum of their durations, as in usage stats.")


class DailyUsage(BaseModel):
    tz: str = Field(description="The IANA time zone the days are cut in.")
    days: list[Day] = Field(
        description="Every local date of the window in order, days without sessions included."
    )


@cache
def _zone_names() -> frozenset[str]:
    # Debian's zone directory also holds "localtime", this machine's own zone:
    # not an IANA name, and it would answer differently from server to server.
    return frozenset(available_timezones() - {"localtime"})


def zone_param(value: str | None) -> ZoneInfo:
    """The IANA zone named ``value`` (UTC when absent); a 400 for any other name.

    Names are checked against the zone database's list before a file is opened,
    so no spelling can reach the file system (``../``, a directory, a long name).
    """
    name = "UTC" if value is None else value
    if name not in _zone_names():
        shown = name if len(name) <= 64 else name[:64] + "..."
        raise InvalidParameter("tz", f"not an IANA time zone: {shown!r}")
    return ZoneInfo(name)


def local_days(from_us: int, to_us: int, zone: ZoneInfo) -> list[date]:
    """Every local date from the one holding ``from`` to the one holding the instant before ``to``."""
    ends = []
    for name, instant in (("from", from_us), ("to", to_us - 1)):
        try:
            ends.append(local_date(instant, zone))
        except OverflowError:
            raise InvalidParameter(
                name, f"falls outside the years 1 to 9999 in {zone.key}"
            ) from None
    first, last = ends
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@router.get(
    "/ss/api/usage/daily",
    operation_id="getDailyUsage",
    openapi_extra=documented([FROM, TO, query_parameter("tz", _TZ), AGENT], conditional=True),
    summary="Meetings and seconds per day",
    response_model=DailyUsage,
    responses=ERRORS,
)
async def get_daily_usage(
    request: Request,
    principal: Principal = Depends(reader),
) -> Response:
    """Meetings and seconds per local day of the window ``from <= start < to``.

    The window's defaults and rules are those of `GET /ss/api/usage` (`to` = now,
    `from` = `to` minus 28 days, `from >= to` is a 400). Days are cut in the IANA
    time zone `tz` (default `UTC`; any other name is a 400), daylight-saving days
    included: `days` lists every local date from the one holding `from` to the one
    holding the last instant before `to`, in order, with zeros for days without
    sessions. A session counts on the local date of its start; `seconds` sums the
    sessions' `duration` (an ongoing session up to now), so the days add up to
    the window's `stats.total`.
    """
    params, now = request.query_params, now_us()
    given_from, given_to = single(params, "from"), single(params, "to")
    zone = zone_param(single(params, "tz"))
    agents = tuple(sorted({email_param("agent", a) for a in params.getlist("agent")}))
    from_us, to_us = usage_window(
        None if given_from is None else timestamp_param("from", given_from),
        None if given_to is None else timestamp_param("to", given_to),
        now,
    )
    if to_us - from_us > MAX_DAYS * DAY_US:
        raise InvalidParameter("from", f"the window may span at most {MAX_DAYS} days")
    days = local_days(from_us, to_us, zone)
    query = UsageQuery(from_us=from_us, to_us=to_us, agents=agents, now_us=now)
    pre = await precondition(request, principal.account_id, WindowAnswer(query, (zone.key,)))
    if pre.not_modified is not None:
        return pre.not_modified
    db = request.app.state.db

    def load() -> dict[date, tuple[int, int]]:
        with db.reading() as conn:
            return daily_totals(conn, principal.account_id, query, zone)

    totals = await run_in_threadpool(load)
    response = json_response(
        {
            "tz": zone.key,
            "days": [
                {"date": day.isoformat(), "meetings": meetings, "seconds": seconds}
                for day in days
                for meetings, seconds in (totals.get(day, (0, 0)),)
            ],
        }
    )
    return pre.stamp(response)
