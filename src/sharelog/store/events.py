"""Live events, merged into the stored sessions in any order of arrival.

Every rule of the contract is a commutative merge, so a session's rows can be
updated event by event and still equal what *all* its events say, whatever
their order:

- start and agent: the smallest ``(at, event id)`` of its session.started;
  an import stands as one with the key "", which wins a tie;
- end: the largest ``at`` of its session.ended;
- shares: the union of share.started, ordered by ``(at, seq, event id)``;
- a viewer: the smallest join, the largest join, the largest leave (``left`` is
  the largest leave unless a later join followed it), and the location of the
  smallest ``(at, event id)`` join that carried a location or an ip.

Event ids are claimed with INSERT ... ON CONFLICT DO NOTHING RETURNING: an id
that another request (even a concurrent one) claimed first is a duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from sharelog.domain import EventIn, EventResult
from sharelog.limits import MAX_SHARES, MAX_VIEWERS
from sharelog.store import segments
from sharelog.store.bulk import bulk_insert
from sharelog.store.driver import execute, fetch
from sharelog.store.event_rows import SESSION_FIELDS, VIEWER_FIELDS, write_sessions, write_viewers
from sharelog.store.fresh import FreshSessions
from sharelog.store.peaks import stored_peaks
from sharelog.store.positions import session_change, take_positions
from sharelog.store.schema import EVENT_SHARE_SEQ, shares
from sharelog.store.segments import JOIN, LEAVE
from sharelog.store.usage_sql import dialect_of

_VIEWER_TYPES = ("viewer.joined", "viewer.left")
_NO_VIEWER = {**dict.fromkeys(VIEWER_FIELDS), **segments.NEW_VIEWER}
_NEW_SESSION = {**dict.fromkeys(SESSION_FIELDS), **segments.NEW_SESSION}


def claim_event_ids(
    conn: Connection, account_id: int, events: Sequence[EventIn], now_us: int
) -> list[EventIn]:
    """The events whose ids nobody had claimed, in request order (first occurrence wins)."""
    first = dict(zip([e.id for e in events], events, strict=True))
    if len(first) < len(events):  # a repeated id: its first occurrence, in request order
        first = {}
        for e in events:
            first.setdefault(e.id, e)
    if conn.dialect.name == "sqlite":
        claimed = _claim_sqlite(conn, account_id, first, now_us)
        if claimed is None:
            return list(first.values())
    else:
        # Concurrent requests may race for an id: ON CONFLICT waits for the
        # other transaction and RETURNING tells which ids this one won. One
        # statement over arrays: 10x cheaper than an executemany of rows. The
        # arrays travel as newline-joined text (no id holds one): psycopg
        # dumps a list element by element in Python, 1.6 ms a batch.
        result = conn.exec_driver_sql(
            "INSERT INTO event_ids (account_id, id, session_id, received_us) "
            "SELECT %(account)s, e.id, e.session_id, %(now)s "
            "FROM unnest(string_to_array(%(ids)s, E'\\n'), string_to_array(%(sessions)s, E'\\n')) "
            "AS e(id, session_id) ON CONFLICT DO NOTHING RETURNING id",
            {
                "account": account_id,
                "now": now_us,
                "ids": "\n".join(first),
                "sessions": "\n".join(e.session_id for e in first.values()),
            },
        )
        claimed = {row[0] for row in result.fetchall()}
    if len(claimed) == len(first):
        return list(first.values())
    return [e for e in first.values() if e.id in claimed]


def _claim_sqlite(
    conn: Connection, account_id: int, first: dict[str, EventIn], now_us: int
) -> set[str] | None:
    """The ids this request claimed; None when it claimed them all (the usual case).

    One statement over a JSON object {id: session}, as with PostgreSQL's
    arrays: 3x cheaper than a SELECT of the taken ids followed by an
    executemany, and json_each's key and value columns are read without the
    json_extract calls an array of pairs needed (2.2 to 1.4 us an event).
    It first runs without RETURNING, a third cheaper (0.9 against 1.4 ms for
    1,000 ids): when it inserted as many rows as there are ids, every one was
    new. Otherwise it is undone to the savepoint and run again with RETURNING,
    which names the ids won. (A savepoint costs nothing measurable in WAL mode.)
    ("WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.)
    """
    params = (
        account_id,
        now_us,
        orjson.dumps({i: e.session_id for i, e in first.items()}).decode(),
    )
    driver = conn.connection.driver_connection
    assert driver is not None
    before = driver.total_changes
    execute(conn, "SAVEPOINT claim")
    execute(conn, _CLAIM_SQLITE, params)
    if driver.total_changes - before == len(first):
        execute(conn, "RELEASE claim")
        return None
    execute(conn, "ROLLBACK TO claim")
    claimed = fetch(conn, _CLAIM_SQLITE + " RETURNING id", params)
    execute(conn, "RELEASE claim")
    return {row[0] for row in claimed}


_CLAIM_SQLITE = (
    "INSERT INTO event_ids (account_id, id, session_id, received_us) "
    "SELECT ?, key, value, ? FROM json_each(?) WHERE true ON CONFLICT DO NOTHING"
)


_SESSION_COLUMNS = ("id", *SESSION_FIELDS)
_VIEWER_COLUMNS = ("session_id", "id", *VIEWER_FIELDS)


def _load_sessions(conn: Connection, account_id: int, session_ids: list[str]) -> dict[str, Any]:
    """The stored sessions among these, by id."""
    d = dialect_of(conn)
    rows = fetch(
        conn,
        f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions "
        f"WHERE account_id = {d.mark} AND {d.one_of('id')}",
        (account_id, d.id_list(session_ids)),
    )
    return {row[0]: dict(zip(_SESSION_COLUMNS, row, strict=True)) for row in rows}


def _load_viewers(
    conn: Connection, account_id: int, viewer_keys: list[tuple[str, str]]
) -> dict[tuple[str, str], Any]:
    """The stored viewers among those named: never the other viewers of a session,
    however many it has."""
    if not viewer_keys:
        return {}
    d = dialect_of(conn)
    if d.postgresql:
        given = "SELECT * FROM unnest(CAST(%s AS text[]), CAST(%s AS text[]))"
        params: tuple[Any, ...] = ([k[0] for k in viewer_keys], [k[1] for k in viewer_keys])
    else:
        given = "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)"
        params = (orjson.dumps(viewer_keys).decode(),)
    rows = fetch(
        conn,
        f"SELECT {', '.join(_VIEWER_COLUMNS)} FROM viewers "
        f"WHERE account_id = {d.mark} AND (session_id, id) IN ({given})",
        (account_id, *params),
    )
    return {(row[0], row[1]): dict(zip(_VIEWER_COLUMNS, row, strict=True)) for row in rows}


def _earlier(at_us: int, key: str, than_at: int | None, than_key: str | None) -> bool:
    return than_at is None or (at_us, key) < (than_at, than_key or "")


def apply_events(
    conn: Connection, account_id: int, events: Sequence[EventIn], now_us: int
) -> EventResult:
    """Claim the events' ids and merge the accepted ones, inside the caller's transaction."""
    return merge_events(conn, account_id, events, now_us)[0]


def merge_events(
    conn: Connection, account_id: int, events: Sequence[EventIn], now_us: int
) -> tuple[EventResult, FreshSessions | None]:
    """``apply_events``, and the sessions it created as merged (for webhook messages)."""
    accepted = claim_event_ids(conn, account_id, events, now_us)
    if not accepted:
        return EventResult(received=len(events), accepted=0, duplicates=len(events)), None

    session_ids = list(dict.fromkeys([e.session_id for e in accepted]))
    old_sessions = _load_sessions(conn, account_id, session_ids)
    # A viewer row is only ever written beside its session's row, so only the
    # viewers of stored sessions can be stored.
    viewer_keys = (
        list(
            dict.fromkeys(
                [
                    (e.session_id, e.viewer_id or "")
                    for e in accepted
                    if e.type in _VIEWER_TYPES and e.session_id in old_sessions
                ]
            )
        )
        if old_sessions
        else []
    )
    old_viewers = _load_viewers(conn, account_id, viewer_keys)
    state = {
        sid: dict(old) if (old := old_sessions.get(sid)) else {**_NEW_SESSION, "id": sid}
        for sid in session_ids
    }
    viewer_state = {k: dict(v) for k, v in old_viewers.items()}
    new_shares: list[dict[str, Any]] = []
    marks = segments.NewMarks()
    # A session holds at most MAX_SHARES shares and MAX_VIEWERS viewers, as an
    # import does: events past them are counted (over_limit), not applied.
    share_counts = _share_counts(conn, account_id, accepted, old_sessions)
    viewer_counts = _viewer_counts(conn, account_id, viewer_keys, old_sessions, old_viewers)
    over_limit = 0

    # The viewers' marks by viewer: also the viewers this request touched.
    viewer_marks = marks.viewers
    for e in accepted:
        kind = e.type
        # Viewer events first: they are most of a live product's events.
        if kind == "viewer.joined" or kind == "viewer.left":
            key = (e.session_id, e.viewer_id or "")
            v = viewer_state.get(key)
            if v is None:
                if viewer_counts.get(e.session_id, 0) >= MAX_VIEWERS:
                    over_limit += 1
                    continue
                viewer_counts[e.session_id] = viewer_counts.get(e.session_id, 0) + 1
                v = viewer_state[key] = {"session_id": key[0], "id": key[1], **_NO_VIEWER}
            at = e.at_us
            if kind == "viewer.joined":
                mark = (at, e.id, JOIN)
                _merge_join(v, e)
            else:
                mark = (at, e.id, LEAVE)
                leave = v["last_leave_us"]
                if leave is None or at > leave:
                    v["last_leave_us"] = at
            found = viewer_marks.get(key)
            if found is None:
                viewer_marks[key] = [mark]
            else:
                found.append(mark)
            continue
        s = state[e.session_id]
        if kind == "session.started":
            if _earlier(e.at_us, e.id, s["start_us"], s["start_key"]):
                s["start_us"] = e.at_us
                s["start_key"] = e.id
                s["agent"] = e.agent
            # The name last received, in order of arrival (the contract's rule).
            if e.agent_name is not None:
                s["agent_name"] = e.agent_name
        elif kind == "session.ended":
            end = s["end_us"]
            if end is None or e.at_us > end:
                s["end_us"] = e.at_us
        elif kind in segments.WEBCAM_TYPES:
            marks.webcam(e)
        elif kind == "share.started":
            if share_counts.get(e.session_id, 0) >= MAX_SHARES:
                over_limit += 1
                continue
            share_counts[e.session_id] = share_counts.get(e.session_id, 0) + 1
            new_shares.append(
                {
                    "account_id": account_id,
                    "session_id": e.session_id,
                    "seq": EVENT_SHARE_SEQ,
                    "event_id": e.id,
                    "at_us": e.at_us,
                    "type": e.share_type,
                    "title": e.title,
                    "url": e.url,
                }
            )

    for key in viewer_marks:
        v = viewer_state[key]
        leave, join = v["last_leave_us"], v["last_join_us"]
        v["left_us"] = leave if leave is not None and (join is None or leave >= join) else None
    stale = marks.apply(state, old_sessions, viewer_state)

    # The viewers first: the stale stored sessions' peaks are read from them.
    write_viewers(conn, account_id, [viewer_state[k] for k in viewer_marks], old_viewers)
    peaks = stored_peaks(conn, account_id, {sid: state[sid]["end_us"] for sid in sorted(stale)})
    for sid, peak in peaks.items():
        state[sid]["peak"] = peak
    first = take_positions(conn, account_id, len(session_ids))
    seqs = {sid: first + i for i, sid in enumerate(session_ids)}
    write_sessions(conn, account_id, state, old_sessions, now_us, seqs)
    bulk_insert(conn, shares, new_shares)
    changes = []
    for i, sid in enumerate(session_ids):
        old, new = old_sessions.get(sid), state[sid]
        changes.append(
            session_change(
                sid,
                first + i,
                None if old is None else (old["start_us"], old["end_us"]),
                (new["start_us"], new["end_us"]),
            )
        )
    result = EventResult(
        received=len(events),
        accepted=len(accepted),
        duplicates=len(events) - len(accepted),
        changes=tuple(changes),
        over_limit=over_limit,
    )
    return result, FreshSessions(state, old_sessions.keys(), new_shares, viewer_state)


def _share_counts(
    conn: Connection, account_id: int, accepted: Sequence[EventIn], old: dict[str, Any]
) -> dict[str, int]:
    """How many shares the stored sessions that this batch adds shares to hold already."""
    ids = list(
        {e.session_id for e in accepted if e.type == "share.started" and e.session_id in old}
    )
    return _counts(conn, "shares", account_id, ids)


def _viewer_counts(
    conn: Connection,
    account_id: int,
    viewer_keys: list[tuple[str, str]],
    old_sessions: dict[str, Any],
    old_viewers: dict[tuple[str, str], Any],
) -> dict[str, int]:
    """How many viewers the stored sessions that this batch may add viewers to hold."""
    ids = list(
        {sid for sid, vid in viewer_keys if sid in old_sessions and (sid, vid) not in old_viewers}
    )
    return _counts(conn, "viewers", account_id, ids)


def _counts(conn: Connection, table: str, account_id: int, ids: list[str]) -> dict[str, int]:
    """The rows of ``table`` (shares or viewers) each of these sessions has."""
    if not ids:
        return {}
    d = dialect_of(conn)
    rows = fetch(
        conn,
        f"SELECT session_id, count(*) FROM {table} "
        f"WHERE account_id = {d.mark} AND {d.one_of('session_id')} GROUP BY session_id",
        (account_id, d.id_list(ids)),
    )
    return {sid: int(n) for sid, n in rows}


def _merge_join(v: dict[str, Any], e: EventIn) -> None:
    at = e.at_us
    first, last = v["joined_us"], v["last_join_us"]
    if first is None or at < first:
        v["joined_us"] = at
    if last is None or at > last:
        v["last_join_us"] = at
    # The ingest layer has turned an ip into a location (perhaps all unknown).
    location = e.location
    if location is not None and _earlier(at, e.id, v["loc_at_us"], v["loc_key"]):
        v["country"] = location.country
        v["region"] = location.region
        v["city"] = location.city
        v["loc_at_us"] = at
        v["loc_key"] = e.id
        v["ip"] = e.ip
        v["loc_by_ip"] = e.located_by_ip
    if e.client is not None and _earlier(e.at_us, e.id, v["ua_at_us"], v["ua_key"]):
        c = e.client
        v.update(browser=c.browser, os=c.os, device=c.device, ua_at_us=e.at_us, ua_key=e.id)
