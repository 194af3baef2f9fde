"""Reading usage history: a window's sessions in bounded chunks.

Nothing here loads a whole window into memory: ``session_chunks`` walks the
window by keyset on ``(start_us, id)`` (the ``ix_sessions_account_start``
index), and builds one chunk at a time (``store.usage_rows``: its shares and
viewer locations, or its CSV rows), each chunk in a short snapshot of its own.
A page (``read_page``) holds at most ``MAX_USAGE_LIMIT`` sessions and is read
whole in one snapshot. The stats are in ``store.usage_stats``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, case, func, literal

from sharelog.domain import UsageQuery
from sharelog.store.schema import sessions
from sharelog.store.usage_rows import build_sessions
from sharelog.store.usage_sql import Build, Position, session_rows, span_of
from sharelog.timestamps import US_PER_SECOND

SESSION_CHUNK = 1000
# What a session's row gives its usage object: usage_sql.SESSION_SQL's columns,
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


def session_chunks(
    snapshot: Callable[[], AbstractContextManager[Connection]],
    account_id: int,
    query: UsageQuery,
    *,
    after: Position | None = None,
    chunk_size: int = SESSION_CHUNK,
    build: Build = build_sessions,
    stored: str | None = None,
) -> Iterator[list[Any]]:
    """The window's sessions after ``after``, in order, a chunk at a time, each chunk's
    rows made by ``build`` (default: contract-shaped dicts; ``usage_rows.export_rows``:
    CSV rows). ``stored``: the code version whose stored usage entries the rows
    carry, for ``usage_rows.build_stored``.

    Each chunk is read in a snapshot of its own (``snapshot()``), closed before
    the chunk is handed on: no connection and no transaction is held while the
    chunk waits for a slow client. The next chunk continues strictly after the
    last session handed on, so a session is never handed on twice and none
    that exists ahead of the position is left out, whatever commits between
    two chunks. Positions are keyset positions ``(start_us, id)``.
    """
    position = after
    while True:
        with snapshot() as conn:
            rows = session_rows(
                conn, account_id, query, after=position, limit=chunk_size, stored=stored
            )
            if not rows:
                return
            chunk = build(conn, account_id, rows, query.now_us, span=span_of(query, position, rows))
        yield chunk
        if len(rows) < chunk_size:
            return
        position = (rows[-1][2], rows[-1][0])


def read_page(
    conn: Connection,
    account_id: int,
    query: UsageQuery,
    after: Position | None,
    limit: int,
    *,
    chunk_size: int = SESSION_CHUNK,
    build: Build = build_sessions,
    stored: str | None = None,
) -> tuple[list[list[Any]], Position | None]:
    """The first ``limit`` sessions after ``after``, in chunks made by ``build``, all
    read in ``conn``'s snapshot; and the position of the page's last session when
    more follow it (None on the last page).

    One query finds both the page and whether another follows (it asks for one
    session more): a page by 1,000 used to cost a query for its end first.
    """
    rows = session_rows(conn, account_id, query, after=after, limit=limit + 1, stored=stored)
    end = None
    if len(rows) > limit:
        del rows[limit:]
        end = (rows[-1][2], rows[-1][0])
    chunks = []
    for i in range(0, len(rows), chunk_size):
        chunk = rows[i : i + chunk_size]
        span = span_of(query, after if i == 0 else (rows[i - 1][2], rows[i - 1][0]), chunk)
        chunks.append(build(conn, account_id, chunk, query.now_us, span=span))
    return chunks, end
