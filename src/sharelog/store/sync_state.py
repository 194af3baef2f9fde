"""Where a local copy made by ``sharelog sync`` stands in its source's change feed."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from sharelog.store.bulk import upsert
from sharelog.store.schema import sessions, sync_state


def position(conn: Connection, account_id: int) -> tuple[str, str] | None:
    """``(source, position)`` of the account's copy, or None before its first sync."""
    row = conn.execute(
        select(sync_state.c.source, sync_state.c.position).where(
            sync_state.c.account_id == account_id
        )
    ).first()
    return None if row is None else (row.source, row.position)


def save_position(conn: Connection, account_id: int, source: str, at: str, now_us: int) -> None:
    upsert(
        conn,
        sync_state,
        [{"account_id": account_id, "source": source, "position": at, "updated_us": now_us}],
        keys=("account_id",),
        changing=("source", "position", "updated_us"),
    )


def forget_position(conn: Connection, account_id: int) -> None:
    conn.execute(delete(sync_state).where(sync_state.c.account_id == account_id))


def session_ids(conn: Connection, account_id: int) -> list[str]:
    return list(
        conn.execute(select(sessions.c.id).where(sessions.c.account_id == account_id)).scalars()
    )
