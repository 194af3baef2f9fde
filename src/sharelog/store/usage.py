"""Reading usage history: stats by SQL aggregation, sessions in bounded chunks.

Nothing here loads a whole window into memory: ``session_chunks`` walks the
window by keyset on ``(start_us, id)`` (the ``ix_sessions_account_start``
index), and builds one chunk at a time (``store.usage_rows``: its shares and
viewer locations, or its CSV rows), each chunk in a short snapshot of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, and_, case, func, literal, or_, select

from sharelog.domain import UsageQuery
from sharelog.store.bulk import one_of
from sharelog.store.schema import sessions, viewers
from sharelog.store.segments import Segment, decode_segments, watched_seconds
from sharelog.store.usage_rows import build_sessions, session_rows
from sharelog.timestamps import US_PER_SECOND, format_timestamp, whole_seconds

SESSION_CHUNK = 1000
# What a session's row gives its usage object: usage_rows.SESSION_SQL's columns,
# in its order (build_sessions unpacks them by position).
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


Build = Callable[[Connection, int, Sequence[Any], int], list[Any]]


def session_chunks(
    snapshot: Callable[[], AbstractContextManager[Connection]],
    account_id: int,
    query: UsageQuery,
    *,
    after: tuple[int, str] | None = None,
    until: tuple[int, str] | None = None,
    chunk_size: int = SESSION_CHUNK,
    build: Build = build_sessions,
) -> Iterator[list[Any]]:
    """The window's sessions, in order, a chunk at a time, each chunk's rows made by
    ``build`` (default: contract-shaped dicts; ``usage_rows.export_rows``: CSV rows).

    Each chunk is read in a snapshot of its own (``snapshot()``), closed before
    the chunk is handed on: no connection and no transaction is held while the
    chunk waits for a slow client. The next chunk continues strictly after the
    last session handed on, so a session is never handed on twice and none
    that exists ahead of the position is left out, whatever commits between
    two chunks. ``after`` and ``until`` are keyset positions ``(start_us, id)``:
    only sessions after the one and at or before the other (a page's end).
    """
    position = after
    while True:
        with snapshot() as conn:
            rows = session_rows(
                conn, account_id, query, after=position, until=until, limit=chunk_size
            )
            chunk = build(conn, account_id, rows, query.now_us)
        if not rows:
            return
        yield chunk
        position = (rows[-1][2], rows[-1][0])
        # A page that ends on a full chunk ends there: no query for an empty one.
        if len(rows) < chunk_size or position == until:
            return


def location_sort_key(group: dict[str, Any]) -> tuple[Any, ...]:
    """Count descending, then country, region, city ascending by code point, nulls last."""
    return (
        -group["count"],
        *(
            (value is None, value or "")
            for value in (group["country"], group["region"], group["city"])
        ),
    )


def get_session(
    conn: Connection, account_id: int, session_id: str, now_us: int
) -> dict[str, Any] | None:
    """One started session with ``viewers.list``, or None."""
    return session_details(conn, account_id, [session_id], now_us).get(session_id)


def session_details(
    conn: Connection,
    account_id: int,
    ids: Sequence[str],
    now_us: int,
    fmt: Callable[[int], str] = format_timestamp,
) -> dict[str, dict[str, Any]]:
    """These sessions (those started) as ``GET /ss/api/sessions/{id}`` shows them, by id.

    ``fmt`` writes the instants: whole seconds, or microseconds for the change feed.
    """
    if not ids:
        return {}
    rows = conn.execute(
        select(*SESSION_COLUMNS).where(
            sessions.c.account_id == account_id,
            one_of(conn, sessions.c.id, ids),
            sessions.c.start_us.is_not(None),
        )
    ).all()
    details = {s["id"]: s for s in build_sessions(conn, account_id, rows, now_us, fmt=fmt)}
    runs_to = {row.id: now_us if row.end_us is None else row.end_us for row in rows}
    for session in details.values():
        session["viewers"]["list"] = []
    if not rows:
        return details
    viewer_rows = conn.execute(
        select(
            viewers.c.session_id,
            viewers.c.id,
            viewers.c.joined_us,
            viewers.c.left_us,
            viewers.c.country,
            viewers.c.region,
            viewers.c.city,
            viewers.c.segments,
            viewers.c.browser,
            viewers.c.os,
            viewers.c.device,
        )
        .where(
            viewers.c.account_id == account_id,
            one_of(conn, viewers.c.session_id, list(details)),
            viewers.c.joined_us.is_not(None),
        )
        .order_by(viewers.c.session_id, viewers.c.joined_us, viewers.c.id)
    ).all()
    for v in viewer_rows:
        ends = runs_to[v.session_id]
        details[v.session_id]["viewers"]["list"].append(
            {
                "id": v.id,
                "joined": fmt(v.joined_us),
                "left": None if v.left_us is None else fmt(v.left_us),
                "seconds": whole_seconds(v.joined_us, ends if v.left_us is None else v.left_us),
                "country": v.country,
                "region": v.region,
                "city": v.city,
                **_segments_entry(decode_segments(v.segments), ends, fmt),
                "browser": v.browser,
                "os": v.os,
                "device": v.device,
            }
        )
    return details


def _segments_entry(
    segments: list[Segment], runs_to_us: int, fmt: Callable[[int], str]
) -> dict[str, Any]:
    return {
        "segments": [
            {"joined": fmt(joined), "left": None if left is None else fmt(left)}
            for joined, left in segments
        ],
        "watched_seconds": watched_seconds(segments, runs_to_us),
    }
