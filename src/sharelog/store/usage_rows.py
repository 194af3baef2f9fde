"""The usage read path's hot loop: a chunk of sessions built from the driver's rows.

Written for speed on purpose. A window's sessions are read a chunk at a time
in three statements (``store.usage_sql``: the sessions, their shares, their
viewers grouped by place), then built in one pass each. The location groups
come sorted from SQL, the viewer count with them.

The CSV export reads only what its columns need (``export_rows``): counts and
distinct countries grouped in SQL, never a usage object flattened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from sharelog.store.driver import Row, fetch
from sharelog.store.usage_sql import Span, children_of, children_sql, dialect_of
from sharelog.timestamps import US_PER_SECOND, format_timestamp


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
    of = children_of(conn, rows, span)
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


def build_stored(
    conn: Connection,
    account_id: int,
    rows: Sequence[Any],
    now_us: int,
    *,
    span: Span | None = None,
) -> list[Any]:
    """``build_sessions`` of rows read with their stored usage entries (``session_rows``
    with ``stored``): a session whose entry is there is its stored JSON as it is
    (``orjson.Fragment``), only the others are built from their shares and viewers."""
    missing = [row[:-1] for row in rows if row[-1] is None]
    if not missing:
        return [orjson.Fragment(row[-1]) for row in rows]
    if len(missing) == len(rows):
        return build_sessions(conn, account_id, missing, now_us, span=span)
    built = iter(build_sessions(conn, account_id, missing, now_us))
    return [next(built) if row[-1] is None else orjson.Fragment(row[-1]) for row in rows]


def _shares_of(
    conn: Connection, account_id: int, of: Sequence[str] | Span, fmt: Callable[[int], str]
) -> dict[str, list[dict[str, Any]]]:
    d = dialect_of(conn)
    source, params = children_sql(d, account_id, "shares", of)
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
    d = dialect_of(conn)
    c = d.collate
    source, params = children_sql(d, account_id, "viewers", of)
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
    d = dialect_of(conn)
    of = children_of(conn, rows, span)
    source, params = children_sql(d, account_id, "shares", of)
    share_counts: dict[str, int] = dict(
        fetch(conn, f"SELECT x.session_id, count(*) FROM {source} GROUP BY x.session_id", params)
    )
    viewer_counts: dict[str, int] = {}
    countries: dict[str, list[str]] = {}
    source, params = children_sql(d, account_id, "viewers", of)
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
