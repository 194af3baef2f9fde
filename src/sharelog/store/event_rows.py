"""Writing the rows an events request merged (``store/events.py``): its sessions,
each at its new change-feed position, and the viewers it touched."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from sharelog.store import segments
from sharelog.store.bulk import insert_tuples
from sharelog.store.driver import execute_many
from sharelog.store.schema import sessions, viewers

# The merged columns: what events set on a session's row and on a viewer's.
SESSION_FIELDS = ("agent", "start_us", "start_key", "end_us", *segments.SESSION_FIELDS)
VIEWER_FIELDS = (
    "joined_us",
    "last_join_us",
    "last_leave_us",
    "left_us",
    "country",
    "region",
    "city",
    "loc_at_us",
    "loc_key",
    "ip",
    *segments.VIEWER_FIELDS,
)


def write_sessions(
    conn: Connection,
    account_id: int,
    state: dict[str, dict[str, Any]],
    old: dict[str, Any],
    now_us: int,
    seqs: dict[str, int],
) -> None:
    """Insert the new sessions and update the others, each at its new position.

    Every touched session is written (its ``seq`` changes even when only a
    viewer or a share did). On PostgreSQL the updates go as one statement over
    arrays: an executemany costs a round trip a row (it doubled a batch's time).
    """
    rows = [
        (account_id, now_us, now_us, seqs[sid], *_SESSION_VALUES(s))
        for sid, s in state.items()
        if sid not in old
    ]
    insert_tuples(conn, sessions, _SESSION_INSERT_COLUMNS, rows)
    existing = [(sid, s) for sid, s in state.items() if sid in old]
    if not existing:
        return
    if conn.dialect.name == "postgresql":
        _update_sessions_postgres(conn, account_id, existing, now_us, seqs)
        return
    execute_many(
        conn,
        _SESSION_UPDATE,
        [
            (*_SESSION_FIELD_VALUES(s), seqs[sid], now_us, now_us, account_id, sid)
            for sid, s in existing
        ],
    )


# Rows as tuples straight from the merged dicts, for the driver's executemany
# (store/driver.py): no dict of parameters per row.
_SESSION_INSERT_COLUMNS = ("account_id", "updated_us", "changed_us", "seq", "id", *SESSION_FIELDS)
_SESSION_VALUES = itemgetter("id", *SESSION_FIELDS)
_SESSION_FIELD_VALUES = itemgetter(*SESSION_FIELDS)
_SESSION_UPDATE = (
    f"UPDATE sessions SET {', '.join(f'{f} = ?' for f in SESSION_FIELDS)}, "
    "seq = ?, updated_us = ?, changed_us = ? WHERE account_id = ? AND id = ?"
)


def _update_sessions_postgres(
    conn: Connection,
    account_id: int,
    existing: list[tuple[str, dict[str, Any]]],
    now_us: int,
    seqs: dict[str, int],
) -> None:
    """One UPDATE ... FROM unnest(arrays), a column of values per field."""
    fields = (*SESSION_FIELDS, "seq")
    arrays = ", ".join(
        f"%({f})s::{_PG_ARRAY_TYPES[type(sessions.c[f].type).__name__]}[]" for f in fields
    )
    conn.exec_driver_sql(
        f"UPDATE sessions SET {', '.join(f'{f} = v.{f}' for f in fields)}, "
        "updated_us = %(now)s, changed_us = %(now)s "
        f"FROM unnest(%(ids)s::text[], {arrays}) AS v(id, {', '.join(fields)}) "
        "WHERE sessions.account_id = %(account)s AND sessions.id = v.id",
        {
            "now": now_us,
            "account": account_id,
            "ids": [sid for sid, _ in existing],
            **{f: [s[f] for _, s in existing] for f in SESSION_FIELDS},
            "seq": [seqs[sid] for sid, _ in existing],
        },
    )


# SQLAlchemy column types of the sessions table, as PostgreSQL array element types.
_PG_ARRAY_TYPES = {
    "BigInteger": "bigint",
    "Integer": "integer",
    "String": "text",
    "Text": "text",
}


# A new viewer's row: its keys, then the merged columns.
_INSERT_COLUMNS = ("account_id", "session_id", "id", *VIEWER_FIELDS)
_INSERTED = itemgetter(*_INSERT_COLUMNS[1:])
_VIEWER_FIELD_VALUES = itemgetter(*VIEWER_FIELDS)


def write_viewers(
    conn: Connection,
    account_id: int,
    touched: list[dict[str, Any]],
    old: dict[tuple[str, str], Any],
) -> None:
    inserts, updates = [], []
    for v in touched:
        key = (v["session_id"], v["id"])
        if key not in old:
            # A tuple straight from the merged dict: no copy of it per viewer.
            inserts.append((account_id, *_INSERTED(v)))
        else:
            values = _VIEWER_FIELD_VALUES(v)
            if values != _VIEWER_FIELD_VALUES(old[key]):
                updates.append((*values, account_id, *key))
    insert_tuples(conn, viewers, _INSERT_COLUMNS, inserts)
    if updates:
        m = "%s" if conn.dialect.name == "postgresql" else "?"
        execute_many(
            conn,
            f"UPDATE viewers SET {', '.join(f'{f} = {m}' for f in VIEWER_FIELDS)} "
            f"WHERE account_id = {m} AND session_id = {m} AND id = {m}",
            updates,
        )
