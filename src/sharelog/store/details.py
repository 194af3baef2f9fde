"""One session with its viewers listed: ``GET /ss/api/sessions/{id}`` and the change feed.

``viewers.list`` is ordered by ``(joined_us, id)`` and read by keyset on that
pair, so that a caller can take it a page at a time (``viewer_entries``): a
session written today holds at most MAX_VIEWERS viewers, but a database that
took events before they were held to that cap may hold sessions with many
more, and no read has to load those whole. Each page scans the session's
viewers by primary key and sorts them: no index on ``joined_us`` (it would
cost every viewer write), since a session within the cap is one page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from sharelog.store.bulk import one_of
from sharelog.store.schema import sessions, viewers
from sharelog.store.segments import Segment, decode_segments, watched_seconds
from sharelog.store.usage import SESSION_COLUMNS
from sharelog.store.usage_rows import build_sessions
from sharelog.timestamps import format_timestamp, whole_seconds

# A viewer's place in the list: its first join and its id.
ViewerPosition = tuple[int, str]

_VIEWER_COLUMNS = (
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


@dataclass(frozen=True, slots=True)
class SessionHead:
    """A session as usage shows it (``viewers`` without ``list``), and the instant
    its open segments run to: its end, or now while it goes on."""

    session: dict[str, Any]
    runs_to_us: int


def session_head(
    conn: Connection, account_id: int, session_id: str, now_us: int
) -> SessionHead | None:
    """One started session without its viewer list, or None."""
    rows = _started(conn, account_id, [session_id])
    if not rows:
        return None
    [session] = build_sessions(conn, account_id, rows, now_us)
    row = rows[0]
    return SessionHead(session, now_us if row.end_us is None else row.end_us)


def viewer_entries(
    conn: Connection,
    account_id: int,
    session_id: str,
    runs_to_us: int,
    *,
    limit: int,
    after: ViewerPosition | None = None,
    fmt: Callable[[int], str] = format_timestamp,
) -> list[tuple[ViewerPosition, dict[str, Any]]]:
    """Up to ``limit`` entries of the session's ``viewers.list`` strictly after
    ``after``, in order, each with its position."""
    conditions = [
        viewers.c.account_id == account_id,
        viewers.c.session_id == session_id,
        viewers.c.joined_us.is_not(None),
        *_after(after),
    ]
    rows = conn.execute(
        select(*_VIEWER_COLUMNS)
        .where(*conditions)
        .order_by(viewers.c.joined_us, viewers.c.id)
        .limit(limit)
    ).all()
    return [((int(v.joined_us), v.id), _viewer_entry(v, runs_to_us, fmt)) for v in rows]


def _after(position: ViewerPosition | None) -> list[ColumnElement[bool]]:
    if position is None:
        return []
    joined_us, last_id = position
    # The plain range bounds the scan; the OR finishes the job.
    return [
        viewers.c.joined_us >= joined_us,
        or_(viewers.c.joined_us > joined_us, and_(viewers.c.id > last_id)),
    ]


def session_details(
    conn: Connection,
    account_id: int,
    ids: Sequence[str],
    now_us: int,
    fmt: Callable[[int], str] = format_timestamp,
) -> dict[str, dict[str, Any]]:
    """These sessions (those started) as ``GET /ss/api/sessions/{id}`` shows them
    unpaged, by id: the change feed's entries.

    ``fmt`` writes the instants: whole seconds, or microseconds for the change feed.
    """
    if not ids:
        return {}
    rows = _started(conn, account_id, ids)
    details = {s["id"]: s for s in build_sessions(conn, account_id, rows, now_us, fmt=fmt)}
    runs_to = {row.id: now_us if row.end_us is None else row.end_us for row in rows}
    for session in details.values():
        session["viewers"]["list"] = []
    if not rows:
        return details
    viewer_rows = conn.execute(
        select(*_VIEWER_COLUMNS)
        .where(
            viewers.c.account_id == account_id,
            one_of(conn, viewers.c.session_id, list(details)),
            viewers.c.joined_us.is_not(None),
        )
        .order_by(viewers.c.session_id, viewers.c.joined_us, viewers.c.id)
    ).all()
    for v in viewer_rows:
        entry = _viewer_entry(v, runs_to[v.session_id], fmt)
        details[v.session_id]["viewers"]["list"].append(entry)
    return details


def _started(conn: Connection, account_id: int, ids: Sequence[str]) -> Sequence[Any]:
    return conn.execute(
        select(*SESSION_COLUMNS).where(
            sessions.c.account_id == account_id,
            one_of(conn, sessions.c.id, ids),
            sessions.c.start_us.is_not(None),
        )
    ).all()


def _viewer_entry(v: Any, runs_to_us: int, fmt: Callable[[int], str]) -> dict[str, Any]:
    segments: list[Segment] = decode_segments(v.segments)
    joined_us, left_us = v.joined_us, v.left_us
    joined = fmt(joined_us)
    left = None if left_us is None else fmt(left_us)

    # Most viewers watch once: their one segment is their joined and left, so
    # those instants are written once (formatting is most of a feed page's cost).
    def written(us: int) -> str:
        return joined if us == joined_us else left if us == left_us and left else fmt(us)

    return {
        "id": v.id,
        "joined": joined,
        "left": left,
        "seconds": whole_seconds(joined_us, runs_to_us if left_us is None else left_us),
        "country": v.country,
        "region": v.region,
        "city": v.city,
        "segments": [
            {"joined": written(j), "left": None if lft is None else written(lft)}
            for j, lft in segments
        ],
        "watched_seconds": watched_seconds(segments, runs_to_us),
        "browser": v.browser,
        "os": v.os,
        "device": v.device,
    }
