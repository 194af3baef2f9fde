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
from dataclasses import dataclass
from typing import Any, Protocol

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
    if conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute:
        # Something listens to the engine's statements (a test counting them,
        # tracing): through SQLAlchemy, so that it sees these too. Same rows.
        return list(conn.exec_driver_sql(sql, tuple(params)).all())
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


def _sessions_where(
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


def _children(
    d: _Dialect, account_id: int, table: str, of: Sequence[str] | Span
) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ...`` of ``table``'s rows (as ``x``) that belong to the sessions
    ``of``: a list of ids, or a chunk's span."""
    if isinstance(of, Span):
        where, params = _sessions_where(d, account_id, of.query, of.after, of.last, alias="s.")
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
) -> list[Row]:
    """The first ``limit`` sessions of the window after ``after`` (a keyset position
    ``(start_us, id)``), in order, as ``SESSION_SQL`` rows."""
    d = _dialect(conn)
    where, params = _sessions_where(d, account_id, query, after)
    sql = (
        f"SELECT {SESSION_SQL} FROM sessions WHERE {' AND '.join(where)} "
        f"ORDER BY start_us, id LIMIT {d.mark}"
    )
    return fetch(conn, sql, [*params, limit])


# A listed viewer's columns, in the order ``store.details`` unpacks them.
VIEWER_SQL = (
    "x.session_id, x.id, x.joined_us, x.left_us, x.country, x.region, x.city, "
    "x.segments, x.browser, x.os, x.device"
)


def started_rows(conn: Connection, account_id: int, ids: Sequence[str]) -> list[Row]:
    """The started sessions among ``ids``, as ``SESSION_SQL`` rows."""
    d = _dialect(conn)
    return fetch(
        conn,
        f"SELECT {SESSION_SQL} FROM sessions x WHERE x.account_id = {d.mark} "
        f"AND {d.one_of('x.id')} AND x.start_us IS NOT NULL",
        [account_id, d.id_list(ids)],
    )


def feed_rows(conn: Connection, account_id: int, since: int, limit: int) -> list[Row]:
    """The first ``limit`` started sessions after position ``since``, in ``seq`` order,
    as ``seq, changed_us`` and then ``SESSION_SQL``'s columns."""
    m = _dialect(conn).mark
    return fetch(
        conn,
        f"SELECT seq, changed_us, {SESSION_SQL} FROM sessions WHERE account_id = {m} "
        f"AND seq > {m} AND start_us IS NOT NULL ORDER BY seq LIMIT {m}",
        [account_id, since, limit],
    )


def listed_viewers(conn: Connection, account_id: int, ids: Sequence[str]) -> list[Row]:
    """The viewers of these sessions that ``viewers.list`` shows (those that joined),
    as ``VIEWER_SQL`` rows, by session, then by first join and id."""
    d = _dialect(conn)
    source, params = _children(d, account_id, "viewers", ids)
    return fetch(
        conn,
        f"SELECT {VIEWER_SQL} FROM {source} AND x.joined_us IS NOT NULL "
        f"ORDER BY x.session_id, x.joined_us, x.id",
        params,
    )


def span_of(query: UsageQuery, after: Position | None, rows: Sequence[Any]) -> Span:
    """The span of ``rows``, the window's first sessions after ``after``."""
    return Span(query, after, (rows[-1][2], rows[-1][0]))


def location_sort_key(group: dict[str, Any]) -> tuple[Any, ...]:
    """Count descending, then country, region, city ascending by code point, nulls last."""
    return (
        -group["count"],
        *(
            (value is None, value or "")
            for value in (group["country"], group["region"], group["city"])
        ),
    )


Located = tuple[dict[str, int], dict[str, list[dict[str, Any]]]]


def located_from(viewer_rows: Sequence[Row]) -> Located:
    """What ``_locations_of`` reads in SQL, from ``VIEWER_SQL`` rows already read
    (a feed page lists every viewer anyway: one statement fewer)."""
    places: dict[str, dict[tuple[Any, Any, Any], int]] = {}
    for v in viewer_rows:
        per = places.get(v[0])
        if per is None:
            per = places[v[0]] = {}
        key = (v[4], v[5], v[6])
        per[key] = per.get(key, 0) + 1
    counts: dict[str, int] = {}
    by_session: dict[str, list[dict[str, Any]]] = {}
    for sid, per in places.items():
        groups = [
            {"country": country, "region": region, "city": city, "count": n}
            for (country, region, city), n in per.items()
        ]
        groups.sort(key=location_sort_key)
        by_session[sid] = groups
        counts[sid] = sum(per.values())
    return counts, by_session


def build_sessions(
    conn: Connection,
    account_id: int,
    rows: Sequence[Any],
    now_us: int,
    sources: bool = False,
    fmt: Callable[[int], str] = format_timestamp,
    *,
    span: Span | None = None,
    located: Located | None = None,
    share_log: dict[str, list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Usage's object of each session row (``SESSION_SQL``'s columns, in that order).

    ``fmt`` writes the instants: whole seconds, or microseconds for the change
    feed. ``sources``: each location group also tells whether its viewers'
    locations were looked up from an ip (``"by_ip"``: a sorted list of booleans).
    ``span``: where the rows lie, when they are a chunk of a window. ``located``:
    the counts and location groups, when the caller has them (``located_from``);
    ``share_log``: the sessions' shares, likewise (``store.fresh``).
    """
    if not rows:
        return []
    of = _children_of(conn, rows, span)
    if share_log is None:
        share_log = _shares_of(conn, account_id, of, fmt)
    counts, locations = located or _locations_of(conn, account_id, of, sources)
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


def _children_of(conn: Connection, rows: Sequence[Any], span: Span | None) -> Sequence[str] | Span:
    """The sessions whose shares and viewers to read: the chunk's span on SQLite,
    else their ids (PostgreSQL's array parameter serves as well as a join)."""
    if span is not None and conn.dialect.name == "sqlite":
        return span
    return [row[0] for row in rows]


def _shares_of(
    conn: Connection, account_id: int, of: Sequence[str] | Span, fmt: Callable[[int], str]
) -> dict[str, list[dict[str, Any]]]:
    d = _dialect(conn)
    source, params = _children(d, account_id, "shares", of)
    by_session: dict[str, list[dict[str, Any]]] = {}
    rows = fetch(
        conn,
        f"SELECT x.session_id, x.at_us, x.type, x.title, x.url FROM {source} "
        f"ORDER BY x.session_id, x.at_us, x.seq, x.event_id{d.collate}",
        params,
    )
    # Rows come by session: a session's list is the one just filled, or a new one.
    last, log = None, []
    for sid, at_us, kind, title, url in rows:
        share = {"at": fmt(at_us), "type": kind, "title": title, "url": url}
        if sid == last:
            log.append(share)
        else:
            last, log = sid, [share]
            by_session[sid] = log
    return by_session


def _locations_of(
    conn: Connection, account_id: int, of: Sequence[str] | Span, sources: bool
) -> tuple[dict[str, int], dict[str, list[dict[str, Any]]]]:
    """The viewer count of each session, and its viewers grouped by place in the
    contract's order: count descending, then country, region, city ascending by
    code point, nulls last."""
    d = _dialect(conn)
    c = d.collate
    source, params = _children(d, account_id, "viewers", of)
    by_ip = "sum(CASE WHEN x.loc_by_ip THEN 1 ELSE 0 END)" if sources else "0"
    rows = fetch(
        conn,
        f"SELECT x.session_id, x.country, x.region, x.city, count(*), {by_ip} FROM {source} "
        f"AND x.joined_us IS NOT NULL "
        f"GROUP BY x.session_id, x.country, x.region, x.city "
        f"ORDER BY x.session_id, count(*) DESC, x.country IS NULL, x.country{c}, "
        f"x.region IS NULL, x.region{c}, x.city IS NULL, x.city{c}",
        params,
    )
    counts: dict[str, int] = {}
    by_session: dict[str, list[dict[str, Any]]] = {}
    last, groups = None, []
    for sid, country, region, city, n, located_by_ip in rows:
        group = {"country": country, "region": region, "city": city, "count": n}
        if sources:
            group["by_ip"] = [False] * (located_by_ip < n) + [True] * (located_by_ip > 0)
        if sid == last:
            groups.append(group)
            counts[sid] += n
        else:
            last, groups = sid, [group]
            by_session[sid] = groups
            counts[sid] = n
    return counts, by_session


def export_rows(
    conn: Connection,
    account_id: int,
    rows: Sequence[Any],
    now_us: int,
    *,
    span: Span | None = None,
) -> list[Row]:
    """The CSV export's row of each session row: ``exports.CSV_COLUMNS``, the same
    values ``exports.csv_row`` takes from a usage object, from the rows they need."""
    if not rows:
        return []
    d = _dialect(conn)
    of = _children_of(conn, rows, span)
    source, params = _children(d, account_id, "shares", of)
    share_counts: dict[str, int] = dict(
        fetch(conn, f"SELECT x.session_id, count(*) FROM {source} GROUP BY x.session_id", params)
    )
    viewer_counts: dict[str, int] = {}
    countries: dict[str, list[str]] = {}
    source, params = _children(d, account_id, "viewers", of)
    for sid, country, n in fetch(
        conn,
        f"SELECT x.session_id, x.country, count(*) FROM {source} AND x.joined_us IS NOT NULL "
        f"GROUP BY x.session_id, x.country ORDER BY x.session_id, x.country{d.collate}",
        params,
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
