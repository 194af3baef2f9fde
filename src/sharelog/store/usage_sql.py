"""The usage read path's statements on the driver's own cursor, read as plain tuples.

Through SQLAlchemy's result rows, building a 1,000-session chunk took 28 ms
(bench/datasette.py's file, 150,000 sessions); on the driver's rows, about 5 ms
of SQL and 2 ms of Python. This module holds the statements and their rows;
``store.usage_rows`` builds usage objects and CSV rows from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import Connection

from sharelog.domain import UsageQuery
from sharelog.store.driver import Row, fetch

Position = tuple[int, str]
# The columns a session's row gives its usage object, in the order the
# builders unpack them (store.usage.SESSION_COLUMNS names the same).
SESSION_SQL = "id, agent, start_us, end_us, agent_name, peak, webcam_s, webcam_open_us"


class _Dialect:
    """What differs between the two backends in this module's SQL."""

    def __init__(self, postgresql: bool) -> None:
        self.postgresql = postgresql
        self.mark = "%s" if postgresql else "?"
        # Code point order, as Python's sort and the contract's: SQLite's BINARY
        # collation is that already; PostgreSQL's default collation is not.
        self.collate = ' COLLATE "C"' if postgresql else ""

    def one_of(self, column: str) -> str:
        """``column`` among a list given as one parameter (see ``id_list``): a
        PostgreSQL array, or a JSON array unpacked by SQLite's json_each."""
        if self.postgresql:
            return f"{column} = ANY({self.mark})"
        return f"{column} IN (SELECT value FROM json_each({self.mark}))"

    def id_list(self, ids: Sequence[str]) -> Any:
        return list(ids) if self.postgresql else orjson.dumps(list(ids)).decode()


_DIALECTS = {True: _Dialect(True), False: _Dialect(False)}


def dialect_of(conn: Connection) -> _Dialect:
    return _DIALECTS[conn.dialect.name == "postgresql"]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a chunk's sessions lie: exactly the window's sessions after ``after``
    up to and including ``last`` (keyset positions ``(start_us, id)``).

    A chunk's shares and viewers are read by joining its span on SQLite: half
    the cost of unpacking a JSON array of its ids (json_each) there, 1.5 against
    2.1 us a session for the shares.
    """

    query: UsageQuery
    after: Position | None
    last: Position


class Build(Protocol):
    """What a chunk's session rows become (usage objects, CSV rows), read in ``conn``."""

    def __call__(
        self,
        conn: Connection,
        account_id: int,
        rows: Sequence[Any],
        now_us: int,
        *,
        span: Span | None = None,
    ) -> list[Any]: ...


def sessions_where(
    d: _Dialect,
    account_id: int,
    query: UsageQuery,
    after: Position | None,
    last: Position | None = None,
    alias: str = "",
) -> tuple[list[str], list[Any]]:
    """The conditions on ``sessions`` for the window's sessions after ``after`` (and at
    or before ``last``), and their parameters."""
    a, m = alias, d.mark
    # One lower and one upper bound on start_us, the rest in ORs: SQLite bounds
    # an index range by one of each, and given both the window's start and the
    # position's it took the window's, so every chunk of a 70,000-session
    # window scanned from there (the 69th took 4.9 ms rather than 0.8).
    low = query.from_us if after is None else max(query.from_us, after[0])
    where = [f"{a}account_id = {m}", f"{a}start_us >= {m}"]
    params: list[Any] = [account_id, low]
    if last is None:
        where.append(f"{a}start_us < {m}")
        params.append(query.to_us)
    else:
        where += [f"{a}start_us <= {m}", f"({a}start_us < {m} OR {a}id <= {m})"]
        params += [last[0], last[0], last[1]]
    if after is not None:
        where.append(f"({a}start_us > {m} OR {a}id > {m})")
        params += [after[0], after[1]]
    if query.agents:
        where.append(d.one_of(f"{a}agent"))
        params.append(d.id_list(query.agents))
    return where, params


def children_sql(
    d: _Dialect, account_id: int, table: str, of: Sequence[str] | Span
) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ...`` of ``table``'s rows (as ``x``) that belong to the sessions
    ``of``: a list of ids, or a chunk's span."""
    if isinstance(of, Span):
        where, params = sessions_where(d, account_id, of.query, of.after, of.last, alias="s.")
        join = f"sessions s JOIN {table} x ON x.account_id = s.account_id AND x.session_id = s.id"
        return f"{join} WHERE {' AND '.join(where)}", params
    ids = f"x.account_id = {d.mark} AND {d.one_of('x.session_id')}"
    return f"{table} x WHERE {ids}", [account_id, d.id_list(of)]


def session_rows(
    conn: Connection,
    account_id: int,
    query: UsageQuery,
    *,
    after: Position | None,
    limit: int,
    stored: str | None = None,
) -> list[Row]:
    """The first ``limit`` sessions of the window after ``after`` (a keyset position
    ``(start_us, id)``), in order, as ``SESSION_SQL`` rows; with ``stored`` (a code
    version), each row also ends with the session's stored usage entry when one
    of that version is there at its ``seq`` (else None)."""
    d = dialect_of(conn)
    where, params = sessions_where(d, account_id, query, after, alias="s.")
    columns, source = SESSION_SQL, "sessions s"
    if stored is not None:
        params = [stored, *params]
        if d.postgresql:
            columns = f"{SESSION_SQL}, {_stored_entry(d, 'usage')}"
        else:
            columns, source = _STORED_SQLITE
    sql = (
        f"SELECT {columns} FROM {source} WHERE {' AND '.join(where)} "
        f"ORDER BY s.start_us, s.id LIMIT {d.mark}"
    )
    return fetch(conn, sql, [*params, limit])


# On SQLite, the entry by a join, and a session's other columns only when it has
# none (build_stored builds those): a page of 1,000 read 1.6-1.9 ms against
# 2.0-2.3 with every column and the entry in a scalar subquery. In a subquery
# of its own the entry was read once a column that tested it (5.3-5.7 ms).
_STORED_SQLITE = (
    ", ".join(
        f"s.{c}" if c in ("id", "start_us") else f"CASE WHEN e.usage IS NULL THEN s.{c} END"
        for c in SESSION_SQL.split(", ")
    )
    + ", e.usage",
    "sessions s LEFT JOIN session_entries e ON e.account_id = s.account_id "
    "AND e.id = s.id AND e.seq = s.seq AND e.version = ?",
)


def _stored_entry(d: _Dialect, body: str) -> str:
    """The session ``s``'s stored entry ``body`` of the version given as a parameter.

    A lookup by primary key for each row, whatever the planner knows of the
    table: as a join, PostgreSQL without statistics on a new entries table
    chose a nested loop over all of it (1.8 s a feed page)."""
    return (
        f"(SELECT e.{body} FROM session_entries e WHERE e.account_id = s.account_id "
        f"AND e.id = s.id AND e.seq = s.seq AND e.version = {d.mark})"
    )


# A listed viewer's columns, in the order ``store.details`` unpacks them.
VIEWER_SQL = (
    "x.session_id, x.id, x.joined_us, x.left_us, x.country, x.region, x.city, "
    "x.segments, x.browser, x.os, x.device"
)


def started_rows(conn: Connection, account_id: int, ids: Sequence[str]) -> list[Row]:
    """The started sessions among ``ids``, as ``SESSION_SQL`` rows."""
    d = dialect_of(conn)
    return fetch(
        conn,
        f"SELECT {SESSION_SQL} FROM sessions x WHERE x.account_id = {d.mark} "
        f"AND {d.one_of('x.id')} AND x.start_us IS NOT NULL",
        [account_id, d.id_list(ids)],
    )


def feed_rows(
    conn: Connection, account_id: int, since: int, limit: int, version: str | None = None
) -> list[Row]:
    """The first ``limit`` started sessions after position ``since``, in ``seq`` order,
    as ``seq, changed_us``, then ``SESSION_SQL``'s columns, then the session's
    stored feed entry when one of ``version`` is there at its ``seq`` (else None)."""
    d = dialect_of(conn)
    m = d.mark
    columns = ", ".join(f"s.{c}" for c in SESSION_SQL.split(", "))
    params: list[Any]
    if version is None:
        entry, params = "NULL", [account_id, since, limit]
    else:
        entry, params = _stored_entry(d, "feed"), [version, account_id, since, limit]
    return fetch(
        conn,
        f"SELECT s.seq, s.changed_us, {columns}, {entry} FROM sessions s "
        f"WHERE s.account_id = {m} AND s.seq > {m} AND s.start_us IS NOT NULL "
        f"ORDER BY s.seq LIMIT {m}",
        params,
    )


def listed_viewers(conn: Connection, account_id: int, ids: Sequence[str]) -> list[Row]:
    """The viewers of these sessions that ``viewers.list`` shows (those that joined),
    as ``VIEWER_SQL`` rows, by session, then by first join and id."""
    d = dialect_of(conn)
    source, params = children_sql(d, account_id, "viewers", ids)
    return fetch(
        conn,
        f"SELECT {VIEWER_SQL} FROM {source} AND x.joined_us IS NOT NULL "
        f"ORDER BY x.session_id, x.joined_us, x.id",
        params,
    )


def span_of(query: UsageQuery, after: Position | None, rows: Sequence[Any]) -> Span:
    """The span of ``rows``, the window's first sessions after ``after``."""
    return Span(query, after, (rows[-1][2], rows[-1][0]))


def children_of(conn: Connection, rows: Sequence[Any], span: Span | None) -> Sequence[str] | Span:
    """The sessions whose shares and viewers to read: the chunk's span on SQLite,
    else their ids (PostgreSQL's array parameter serves as well as a join)."""
    if span is not None and conn.dialect.name == "sqlite":
        return span
    return [row[0] for row in rows]
