"""GET /ss/api/usage/daily: meetings and seconds per day, days cut in an IANA time zone."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import reader
from sharelog.api.openapi import ERRORS
from sharelog.api.params import email_param, single, timestamp_param
from sharelog.api.responses import json_response
from sharelog.api.usage_request import DEFAULT_WINDOW_US
from sharelog.domain import Principal, UsageQuery
from sharelog.errors import InvalidParameter
from sharelog.store.daily import daily_usage
from sharelog.timestamps import now_us

router = APIRouter(tags=["usage"])
MAX_DAYS = 3660


class Day(BaseModel):
    date: str
    meetings: int
    seconds: int


class DailyUsage(BaseModel):
    tz: str
    days: list[Day]


def zone_param(value: str | None) -> ZoneInfo:
    name = value or "UTC"
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidParameter("tz", f"not an IANA time zone: {name!r}") from None


@router.get(
    "/ss/api/usage/daily",
    operation_id="getDailyUsage",
    summary="Meetings and seconds per day",
    response_model=DailyUsage,
    responses=ERRORS,
)
async def get_daily_usage(
    request: Request,
    principal: Principal = Depends(reader),
    from_: str | None = Query(None, alias="from", description="Window start (inclusive)."),
    to: str | None = Query(None, description="Window end (exclusive); default now."),
    tz: str | None = Query(None, description="IANA time zone the days are cut in; default UTC."),
    agent: list[str] | None = Query(None, description="Only these agents (repeatable)."),
) -> Response:
    """Every day of the window, zeros included; a session counts on the local day it started."""
    params, now = request.query_params, now_us()
    given_to = single(params, "to")
    given_from = single(params, "from")
    zone = zone_param(single(params, "tz"))
    to_us = now if given_to is None else timestamp_param("to", given_to)
    from_us = (
        to_us - DEFAULT_WINDOW_US if given_from is None else timestamp_param("from", given_from)
    )
    if from_us >= to_us:
        raise InvalidParameter("from", "must be before to")
    if to_us - from_us > MAX_DAYS * 86_400 * 1_000_000:
        raise InvalidParameter("from", f"the window may span at most {MAX_DAYS} days")
    agents = tuple(sorted({email_param("agent", a) for a in params.getlist("agent")}))
    query = UsageQuery(from_us=from_us, to_us=to_us, agents=agents, now_us=now)
    db = request.app.state.db

    def load() -> list[dict[str, object]]:
        with db.reading() as conn:
            return daily_usage(conn, principal.account_id, query, zone)

    return json_response({"tz": zone.key, "days": await run_in_threadpool(load)})
