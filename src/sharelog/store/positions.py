"""Change-feed positions: every write that changes sessions gives each a new ``seq``.

Positions are handed out from ``accounts.last_seq`` inside the writing
transaction, and every such transaction holds its account's write lock until
it commits (SQLite: the one writer; PostgreSQL: the account's advisory lock,
see ``Database.writing``). So one account's writes take their positions in the
order in which they commit, and no commit can appear behind a position a
reader has already been given. docs/sync.md has the whole argument.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from sharelog.domain import SessionChange
from sharelog.store.bulk import upsert
from sharelog.store.driver import fetch
from sharelog.store.schema import tombstones
from sharelog.store.usage_sql import dialect_of

# PostgreSQL's NOTIFY channel that wakes change-feed long polls in every process.
CHANGES_CHANNEL = "sharelog_changes"


def take_positions(conn: Connection, account_id: int, count: int) -> int:
    """Reserve ``count`` positions; return the first (they run to first + count - 1)."""
    # On the driver's cursor: as a Core statement this cost 60 us, most of
    # an events request's bookkeeping (store/driver.py).
    m = dialect_of(conn).mark
    ((last,),) = fetch(
        conn,
        f"UPDATE accounts SET last_seq = last_seq + {m} WHERE id = {m} RETURNING last_seq",
        (count, account_id),
    )
    if conn.dialect.name == "postgresql":
        # Delivered at commit, to every process that listens (change-feed waits).
        conn.exec_driver_sql("SELECT pg_notify(%s, %s)", (CHANGES_CHANNEL, str(account_id)))
    return int(last) - count + 1


def current_position(conn: Connection, account_id: int) -> int:
    """The account's latest position (``accounts.last_seq``) in ``conn``'s snapshot:
    two snapshots that show the same one hold the same sessions."""
    m = dialect_of(conn).mark
    ((last,),) = fetch(conn, f"SELECT last_seq FROM accounts WHERE id = {m}", (account_id,))
    return int(last)


def session_change(
    sid: str,
    seq: int,
    old: tuple[int | None, int | None] | None,
    new: tuple[int | None, int | None],
) -> SessionChange:
    """What a write did to a session, from its ``(start_us, end_us)`` before and after.

    As usage sees it: a session without a start is not listed, so its end
    shows (``ended``) when its start arrives, not before.
    """
    was_listed = old is not None and old[0] is not None
    was_ended = was_listed and old is not None and old[1] is not None
    listed = new[0] is not None
    return SessionChange(
        sid,
        seq,
        started=listed and not was_listed,
        ended=listed and new[1] is not None and not was_ended,
        listed=listed,
    )


def mark_deleted(
    conn: Connection, account_id: int, ids: Sequence[str], now_us: int
) -> tuple[SessionChange, ...]:
    """Record tombstones for sessions just deleted, each at a new position."""
    if not ids:
        return ()
    first = take_positions(conn, account_id, len(ids))
    upsert(
        conn,
        tombstones,
        [
            {"account_id": account_id, "id": sid, "seq": first + i, "deleted_us": now_us}
            for i, sid in enumerate(ids)
        ],
        keys=("account_id", "id"),
        changing=("seq", "deleted_us"),
    )
    return tuple(SessionChange(sid, first + i, deleted=True) for i, sid in enumerate(ids))
