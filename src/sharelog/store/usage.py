"""Reading usage history: stats by SQL aggregation, sessions in bounded chunks.

Nothing here loads a whole window into memory: ``session_chunks`` walks the
window by keyset on ``(start_us, id)`` (the ``ix_sessions_account_start``
index), and fetches the shares and viewer locations of one chunk at a time,
each chunk in a short snapshot of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, and_, case, func, literal, or_, select

from sharelog.domain import UsageQuery
from sharelog.store.bulk import one_of
from sharelog.store.schema import sessions, shares, viewers
from sharelog.store.segments import webcam_seconds
from sharelog.timestamps import US_PER_SECOND, format_timestamp, whole_seconds

SESSION_CHUNK = 1000
# What a session's row gives its usage object.
SESSION_COLUMNS = (
    sessions.c.id,
    sessions.c.agent,
    sessions.c.start_us,
    sessions.c.end_us,
    sessions.c.agent_name,
    sessions.c.peak,
    sessions.c.webcam_s,
    sessions.c.webcam_open_us,
)


@dataclass(frozen=True, slots=True)
class Figures:
    meetings: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Stats:
    total: Figures
    per_agent: dict[str, Figures]

    def as_json(self) -> dict[str, Any]:
        return {
            "total": {"meetings": self.total.meetings, "seconds": self.total.seconds},
            "per_agent": {
                agent: {"meetings": f.meetings, "seconds": f.seconds}
                for agent, f in self.per_agent.items()
            },
        }


def duration_seconds(now_us: int) -> ColumnElement[Any]:
    """``whole_seconds(start, end)`` in SQL, for aggregates: floor(end - start), never
    negative; ongoing sessions run to now."""
    end = func.coalesce(sessions.c.end_us, literal(now_us, BigInteger))
    diff = end - sessions.c.start_us
    return case((diff < 0, 0), else_=diff) // US_PER_SECOND


def in_window(query: UsageQuery) -> list[ColumnElement[bool]]:
    """The half-open window ``from <= start < to``, and the agent filter."""
    conditions = [
        sessions.c.start_us >= query.from_us,
        sessions.c.start_us < query.to_us,
    ]
    if query.agents:
        conditions.append(sessions.c.agent.in_(query.agents))
    return conditions


def usage_stats(conn: Connection, account_id: int, query: UsageQuery) -> Stats:
    rows = conn.execute(
        select(
            sessions.c.agent,
            func.count().label("meetings"),
            func.sum(duration_seconds(query.now_us)).label("seconds"),
        )
        .where(sessions.c.account_id == account_id, *in_window(query))
        .group_by(sessions.c.agent)
        .order_by(sessions.c.agent)
    ).all()
    per_agent = {row.agent: Figures(int(row.meetings), int(row.seconds or 0)) for row in rows}
    total = Figures(
        sum(f.meetings for f in per_agent.values()), sum(f.seconds for f in per_agent.values())
    )
    return Stats(total=total, per_agent=per_agent)


def _after(position: tuple[int, str] | None) -> list[ColumnElement[bool]]:
    """Keyset condition: strictly after ``(start_us, id)`` in the sessions' order."""
    if position is None:
        return []
    start_us, last_id = position
    # The plain range on start_us lets the index bound the scan; the OR finishes the job.
    return [
        sessions.c.start_us >= start_us,
        or_(sessions.c.start_us > start_us, and_(sessions.c.id > last_id)),
    ]


def page_end(
    conn: Connection,
    account_id: int,
    query: UsageQuery,
    after: tuple[int, str] | None,
    limit: int,
) -> tuple[int, str] | None:
    """The position of a page's last session when more sessions follow it, else None."""
    rows = conn.execute(
        select(sessions.c.start_us, sessions.c.id)
        .where(sessions.c.account_id == account_id, *in_window(query), *_after(after))
        .order_by(sessions.c.start_us, sessions.c.id)
        .offset(limit - 1)
        .limit(2)
    ).all()
    if len(rows) < 2:
        return None
    return (int(rows[0].start_us), rows[0].id)


def _until(position: tuple[int, str] | None) -> list[ColumnElement[bool]]:
    """Keyset condition: at or before ``(start_us, id)``."""
    if position is None:
        return []
    start_us, last_id = position
    return [
        sessions.c.start_us <= start_us,
        or_(sessions.c.start_us < start_us, and_(sessions.c.id <= last_id)),
    ]


def session_chunks(
    snapshot: Callable[[], AbstractContextManager[Connection]],
    account_id: int,
    query: UsageQuery,
    *,
    after: tuple[int, str] | None = None,
    until: tuple[int, str] | None = None,
    chunk_size: int = SESSION_CHUNK,
    sources: bool = False,
) -> Iterator[list[dict[str, Any]]]:
    """The window's sessions as contract-shaped dicts, in order, a chunk at a time.

    Each chunk is read in a snapshot of its own (``snapshot()``), closed before
    the chunk is handed on: no connection and no transaction is held while the
    chunk waits for a slow client. The next chunk continues strictly after the
    last session handed on, so a session is never handed on twice and none
    that exists ahead of the position is left out, whatever commits between
    two chunks. ``after`` and ``until`` are keyset positions ``(start_us, id)``:
    only sessions after the one and at or before the other (a page's end).
    ``sources``: each location group also tells whether its viewers' locations
    were looked up from an ip (``"by_ip"``: a sorted list of booleans).
    """
    position = after
    while True:
        conditions = [
            sessions.c.account_id == account_id,
            *in_window(query),
            *_after(position),
            *_until(until),
        ]
        with snapshot() as conn:
            rows = conn.execute(
                select(*SESSION_COLUMNS)
                .where(*conditions)
                .order_by(sessions.c.start_us, sessions.c.id)
                .limit(chunk_size)
            ).all()
            chunk = build_sessions(conn, account_id, rows, query.now_us, sources=sources)
        if not rows:
            return
        yield chunk
        if len(rows) < chunk_size:
            return
        position = (rows[-1].start_us, rows[-1].id)


def build_sessions(
    conn: Connection,
    account_id: int,
    rows: Sequence[Any],
    now_us: int,
    sources: bool = False,
    fmt: Callable[[int], str] = format_timestamp,
) -> list[dict[str, Any]]:
    """``fmt`` writes the instants: whole seconds, or microseconds for the change feed."""
    ids = [row.id for row in rows]
    share_log = _shares_of(conn, account_id, ids, fmt)
    locations = _locations_of(conn, account_id, ids, sources)
    result = []
    for row in rows:
        start_us, end_us = row.start_us, row.end_us
        runs_to = now_us if end_us is None else end_us
        groups = locations.get(row.id, [])
        result.append(
            {
                "id": row.id,
                "agent": row.agent,
                "agent_name": row.agent_name,
                "start": fmt(start_us),
                "end": None if end_us is None else fmt(end_us),
                "duration": whole_seconds(start_us, runs_to),
                "shares": share_log.get(row.id, []),
                "viewers": {
                    "count": sum(g["count"] for g in groups),
                    "peak": row.peak,
                    "locations": groups,
                },
                "webcam_seconds": webcam_seconds(row.webcam_s, row.webcam_open_us, runs_to),
            }
        )
    return result


def _shares_of(
    conn: Connection, account_id: int, ids: list[str], fmt: Callable[[int], str]
) -> dict[str, list[dict[str, Any]]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        for sid, at_us, kind, title, url in conn.execute(
            select(shares.c.session_id, shares.c.at_us, shares.c.type, shares.c.title, shares.c.url)
            .where(shares.c.account_id == account_id, one_of(conn, shares.c.session_id, ids))
            .order_by(shares.c.session_id, shares.c.at_us, shares.c.seq, shares.c.event_id)
        ):
            by_session[sid].append({"at": fmt(at_us), "type": kind, "title": title, "url": url})
    return by_session


def location_sort_key(group: dict[str, Any]) -> tuple[Any, ...]:
    """Count descending, then country, region, city ascending by code point, nulls last."""
    return (
        -group["count"],
        *(
            (value is None, value or "")
            for value in (group["country"], group["region"], group["city"])
        ),
    )


def _locations_of(
    conn: Connection, account_id: int, ids: list[str], sources: bool = False
) -> dict[str, list[dict[str, Any]]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return by_session
    group = [viewers.c.session_id, viewers.c.country, viewers.c.region, viewers.c.city]
    if sources:
        group.append(viewers.c.loc_by_ip)
    rows: Any = conn.execute(
        select(*group, func.count())
        .where(
            viewers.c.account_id == account_id,
            one_of(conn, viewers.c.session_id, ids),
            viewers.c.joined_us.is_not(None),
        )
        .group_by(*group)
    )
    if not sources:
        for sid, country, region, city, count in rows:
            by_session[sid].append(
                {"country": country, "region": region, "city": city, "count": int(count)}
            )
    else:
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for sid, country, region, city, by_ip, count in rows:
            g = merged.get((sid, country, region, city))
            if g is None:
                g = merged[(sid, country, region, city)] = {
                    "country": country,
                    "region": region,
                    "city": city,
                    "count": 0,
                    "by_ip": [],
                }
                by_session[sid].append(g)
            g["count"] += int(count)
            g["by_ip"] = sorted({*g["by_ip"], bool(by_ip)})
    for groups in by_session.values():
        groups.sort(key=location_sort_key)
    return by_session
