"""The usage read path's hot loop: a chunk of sessions from the driver's own rows.

Written for speed on purpose. A window's sessions are read a chunk at a time
in three statements (the sessions, their shares, their viewers grouped by
place) run on the driver's cursor and read as plain tuples, then built in one
pass each. Through SQLAlchemy's result rows, building a 1,000-session chunk
took 28 ms (bench/datasette.py's file, 150,000 sessions); this way it takes
about 5 ms of SQL and 2 ms of Python. The location groups come sorted from
SQL, the viewer count with them.

The CSV export reads only what its columns need (``export_rows``): counts and
distinct countries grouped in SQL, never a usage object flattened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from sharelog.domain import UsageQuery
from sharelog.timestamps import US_PER_SECOND, format_timestamp

Row = tuple[Any, ...]
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


def _dialect(conn: Connection) -> _Dialect:
    return _DIALECTS[conn.dialect.name == "postgresql"]


def fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    """Every row of ``sql`` as plain tuples, on this connection's transaction.

    A driver error is raised as SQLAlchemy's own (OperationalError and its
    kin), as ``conn.execute`` would, so the API's handlers map it the same way.
    """
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, params)
        rows: list[Row] = cursor.fetchall()  # type: ignore[assignment]  # a list with both drivers
        return rows
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(
            sql, None, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True
        ) from exc
    finally:
        cursor.close()


def session_rows(
    conn: Connection,
    account_id: int,
    query: UsageQuery,
    *,
    after: Position | None,
    limit: int,
) -> list[Row]:
    """The first ``limit`` sessions of the window after ``after`` (a keyset position
    ``(start_us, id)``), in order, as ``SESSION_SQL`` rows."""
    d = _dialect(conn)
    m = d.mark
    where = [f"account_id = {m}", f"start_us >= {m}", f"start_us < {m}"]
    params: list[Any] = [account_id, query.from_us, query.to_us]
    if query.agents:
        where.append(d.one_of("agent"))
        params.append(d.id_list(query.agents))
    if after is not None:
        # The plain range on start_us lets the index bound the scan; the OR finishes the job.
        where += [f"start_us >= {m}", f"(start_us > {m} OR id > {m})"]
        params += [after[0], after[0], after[1]]
    sql = (
        f"SELECT {SESSION_SQL} FROM sessions WHERE {' AND '.join(where)} "
        f"ORDER BY start_us, id LIMIT {m}"
    )
    return fetch(conn, sql, [*params, limit])


def build_sessions(
    conn: Connection,
    account_id: int,
    rows: Sequence[Any],
    now_us: int,
    sources: bool = False,
    fmt: Callable[[int], str] = format_timestamp,
) -> list[dict[str, Any]]:
    """Usage's object of each session row (``SESSION_SQL``'s columns, in that order).

    ``fmt`` writes the instants: whole seconds, or microseconds for the change
    feed. ``sources``: each location group also tells whether its viewers'
    locations were looked up from an ip (``"by_ip"``: a sorted list of booleans).
    """
    if not rows:
        return []
    ids = [row[0] for row in rows]
    share_log = _shares_of(conn, account_id, ids, fmt)
    counts, locations = _locations_of(conn, account_id, ids, sources)
    result: list[dict[str, Any]] = []
    append = result.append
    for sid, agent, start_us, end_us, agent_name, peak, webcam_s, webcam_open_us in rows:
        # timestamps.whole_seconds and segments.webcam_seconds, inlined: this
        # loop runs once per session of every usage response.
        runs_to = now_us if end_us is None else end_us
        lasted = runs_to - start_us
        if webcam_open_us is not None and runs_to > webcam_open_us:
            webcam_s += (runs_to - webcam_open_us) // US_PER_SECOND
        append(
            {
                "id": sid,
                "agent": agent,
                "agent_name": agent_name,
                "start": fmt(start_us),
                "end": None if end_us is None else fmt(end_us),
                "duration": lasted // US_PER_SECOND if lasted > 0 else 0,
                "shares": share_log.get(sid) or [],
                "viewers": {
                    "count": counts.get(sid, 0),
                    "peak": peak,
                    "locations": locations.get(sid) or [],
                },
                "webcam_seconds": webcam_s,
            }
        )
    return result


def _shares_of(
    conn: Connection, account_id: int, ids: list[str], fmt: Callable[[int], str]
) -> dict[str, list[dict[str, Any]]]:
    d = _dialect(conn)
    by_session: dict[str, list[dict[str, Any]]] = {}
    rows = fetch(
        conn,
        f"SELECT session_id, at_us, type, title, url FROM shares "
        f"WHERE account_id = {d.mark} AND {d.one_of('session_id')} "
        f"ORDER BY session_id, at_us, seq, event_id",
        (account_id, d.id_list(ids)),
    )
    for sid, at_us, kind, title, url in rows:
        share = {"at": fmt(at_us), "type": kind, "title": title, "url": url}
        log = by_session.get(sid)
        if log is None:
            by_session[sid] = [share]
        else:
            log.append(share)
    return by_session


def _locations_of(
    conn: Connection, account_id: int, ids: list[str], sources: bool
) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    """The viewer count of each session, and its viewers grouped by place in the
    contract's order: count descending, then country, region, city ascending by
    code point, nulls last."""
    d = _dialect(conn)
    c = d.collate
    rows = fetch(
        conn,
        f"SELECT session_id, country, region, city, count(*), "
        f"sum(CASE WHEN loc_by_ip THEN 1 ELSE 0 END) FROM viewers "
        f"WHERE account_id = {d.mark} AND {d.one_of('session_id')} AND joined_us IS NOT NULL "
        f"GROUP BY session_id, country, region, city "
        f"ORDER BY session_id, count(*) DESC, country IS NULL, country{c}, "
        f"region IS NULL, region{c}, city IS NULL, city{c}",
        (account_id, d.id_list(ids)),
    )
    counts: dict[str, int] = {}
    by_session: dict[str, list[dict[str, Any]]] = {}
    for sid, country, region, city, n, by_ip in rows:
        group = {"country": country, "region": region, "city": city, "count": n}
        if sources:
            group["by_ip"] = [False] * (by_ip < n) + [True] * (by_ip > 0)
        groups = by_session.get(sid)
        if groups is None:
            by_session[sid] = [group]
            counts[sid] = n
        else:
            groups.append(group)
            counts[sid] += n
    return counts, by_session


def export_rows(conn: Connection, account_id: int, rows: Sequence[Any], now_us: int) -> list[Row]:
    """The CSV export's row of each session row: ``exports.CSV_COLUMNS``, the same
    values ``exports.csv_row`` takes from a usage object, from the rows they need."""
    if not rows:
        return []
    d = _dialect(conn)
    ids = d.id_list([row[0] for row in rows])
    share_counts: dict[str, int] = dict(
        fetch(
            conn,
            f"SELECT session_id, count(*) FROM shares "
            f"WHERE account_id = {d.mark} AND {d.one_of('session_id')} GROUP BY session_id",
            (account_id, ids),
        )
    )
    viewer_counts: dict[str, int] = {}
    countries: dict[str, list[str]] = {}
    for sid, country, n in fetch(
        conn,
        f"SELECT session_id, country, count(*) FROM viewers "
        f"WHERE account_id = {d.mark} AND {d.one_of('session_id')} AND joined_us IS NOT NULL "
        f"GROUP BY session_id, country ORDER BY session_id, country{d.collate}",
        (account_id, ids),
    ):
        viewer_counts[sid] = viewer_counts.get(sid, 0) + n
        if country:
            countries.setdefault(sid, []).append(country)
    result: list[Row] = []
    append = result.append
    fmt = format_timestamp
    for sid, agent, start_us, end_us, agent_name, peak, _, _ in rows:
        lasted = (now_us if end_us is None else end_us) - start_us
        append(
            (
                sid,
                agent,
                fmt(start_us),
                "" if end_us is None else fmt(end_us),
                lasted // US_PER_SECOND if lasted > 0 else 0,
                share_counts.get(sid, 0),
                viewer_counts.get(sid, 0),
                ";".join(countries.get(sid, ())),
                peak,
                agent_name or "",
            )
        )
    return result
