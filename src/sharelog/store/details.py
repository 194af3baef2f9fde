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

import orjson
from sqlalchemy import ColumnElement, Connection, and_, or_, select

from sharelog.store.driver import Row
from sharelog.store.schema import viewers
from sharelog.store.usage_rows import Located, build_sessions, located_from
from sharelog.store.usage_sql import listed_viewers, started_rows
from sharelog.timestamps import US_PER_SECOND, format_timestamp, whole_seconds

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
    rows = started_rows(conn, account_id, [session_id])
    if not rows:
        return None
    [session] = build_sessions(conn, account_id, rows, now_us)
    end_us = rows[0][3]
    return SessionHead(session, now_us if end_us is None else end_us)


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
    Read on the driver's rows, as usage's chunks are: a feed page is a thousand
    sessions with every viewer listed.
    """
    if not ids:
        return {}
    return details_of(conn, account_id, started_rows(conn, account_id, ids), now_us, fmt)


def details_of(
    conn: Connection,
    account_id: int,
    rows: Sequence[Row],
    now_us: int,
    fmt: Callable[[int], str] = format_timestamp,
    listed: Sequence[Row] | None = None,
    located: Located | None = None,
) -> dict[str, dict[str, Any]]:
    """``session_details`` of sessions whose ``SESSION_SQL`` rows are read already
    (``listed``: their ``listed_viewers``, and ``located`` from them, when the
    caller has them)."""
    if not rows:
        return {}
    if listed is None:
        listed = listed_viewers(conn, account_id, [row[0] for row in rows])
    if located is None:
        located = located_from(listed)
    built = build_sessions(conn, account_id, rows, now_us, fmt=fmt, located=located)
    details = {s["id"]: s for s in built}
    runs_to = {row[0]: now_us if row[3] is None else row[3] for row in rows}
    lists: dict[str, list[dict[str, Any]]] = {}
    for session in details.values():
        session["viewers"]["list"] = lists[session["id"]] = []
    for v in listed:
        lists[v[0]].append(_viewer_entry(v, runs_to[v[0]], fmt))
    return details


def _viewer_entry(v: Row, runs_to_us: int, fmt: Callable[[int], str]) -> dict[str, Any]:
    """``VIEWER_SQL``'s row as an entry of ``viewers.list``."""
    _, vid, joined_us, left_us, country, region, city, stored, browser, system, device = v
    joined = fmt(joined_us)
    left = None if left_us is None else fmt(left_us)
    stop_us = runs_to_us if left_us is None else left_us
    segments: list[Any] = orjson.loads(stored) if stored else []  # [[joined, left], ...]
    if len(segments) == 1 and segments[0] == [joined_us, left_us]:
        # Most viewers watch once: their one segment is their joined and left,
        # whose instants are written already (writing them is most of the cost).
        watched = (stop_us - joined_us) // US_PER_SECOND if stop_us > joined_us else 0
        entries = [{"joined": joined, "left": left}]
    else:
        watched, entries = _segment_entries(
            segments, joined_us, joined, left_us, left, runs_to_us, fmt
        )
    return {
        "id": vid,
        "joined": joined,
        "left": left,
        "seconds": whole_seconds(joined_us, stop_us),
        "country": country,
        "region": region,
        "city": city,
        "segments": entries,
        "watched_seconds": watched,
        "browser": browser,
        "os": system,
        "device": device,
    }


def _segment_entries(
    segments: list[Any],
    joined_us: int,
    joined: str,
    left_us: int | None,
    left: str | None,
    runs_to_us: int,
    fmt: Callable[[int], str],
) -> tuple[int, list[dict[str, Any]]]:
    """A viewer's seconds watched and its ``segments`` entries, from its stored segments."""
    watched = 0
    entries = []
    for j, lft in segments:
        stop = runs_to_us if lft is None else lft
        if stop > j:
            watched += (stop - j) // US_PER_SECOND
        entries.append(
            {
                "joined": joined if j == joined_us else fmt(j),
                "left": None
                if lft is None
                else left
                if lft == left_us and left is not None
                else fmt(lft),
            }
        )
    return watched, entries
