"""Deleting sessions (one, an agent's, or past retention) and pruning tombstones.

Every deletion leaves a tombstone at a new position (``store/positions.py``),
so the change feed lists it. Callers hold the account's write lock and keep
each transaction to one batch, so ingestion never waits long behind a sweep.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, select, update

from sharelog.domain import SessionChange
from sharelog.store.positions import mark_deleted
from sharelog.store.schema import accounts, sessions, tombstones
from sharelog.store.sessions import delete_sessions

# Sessions (with their shares and viewers) deleted in one transaction at most.
DELETE_BATCH = 2000


def delete_session(
    conn: Connection, account_id: int, session_id: str, now_us: int
) -> tuple[SessionChange, ...]:
    """Delete one session in usage; () when the account has none such."""
    found = conn.execute(
        select(sessions.c.id).where(
            sessions.c.account_id == account_id,
            sessions.c.id == session_id,
            sessions.c.start_us.is_not(None),
        )
    ).first()
    if found is None:
        return ()
    delete_sessions(conn, account_id, [session_id])
    return mark_deleted(conn, account_id, [session_id], now_us)


def _delete_batch(
    conn: Connection, account_id: int, ids: list[str], now_us: int
) -> tuple[SessionChange, ...]:
    delete_sessions(conn, account_id, ids)
    return mark_deleted(conn, account_id, ids, now_us)


def delete_agent_batch(
    conn: Connection, account_id: int, email: str, now_us: int
) -> tuple[SessionChange, ...]:
    """Delete up to DELETE_BATCH of the agent's sessions; () when none is left."""
    ids = list(
        conn.execute(
            select(sessions.c.id)
            .where(sessions.c.account_id == account_id, sessions.c.agent == email)
            .limit(DELETE_BATCH)
        ).scalars()
    )
    return _delete_batch(conn, account_id, ids, now_us) if ids else ()


def retention_days(conn: Connection) -> dict[int, int]:
    """The accounts that keep sessions for a limited time, with their days."""
    return {
        int(r.id): int(r.retention_days)
        for r in conn.execute(
            select(accounts.c.id, accounts.c.retention_days).where(
                accounts.c.retention_days.is_not(None)
            )
        )
    }


def expire_batch(
    conn: Connection, account_id: int, cutoff_us: int, now_us: int
) -> tuple[SessionChange, ...]:
    """Delete up to DELETE_BATCH sessions that started before ``cutoff_us``."""
    ids = list(
        conn.execute(
            select(sessions.c.id)
            .where(sessions.c.account_id == account_id, sessions.c.start_us < cutoff_us)
            .order_by(sessions.c.start_us, sessions.c.id)
            .limit(DELETE_BATCH)
        ).scalars()
    )
    return _delete_batch(conn, account_id, ids, now_us) if ids else ()


def accounts_with_tombstones(conn: Connection, before_us: int) -> list[int]:
    return [
        int(a)
        for a in conn.execute(
            select(tombstones.c.account_id).where(tombstones.c.deleted_us < before_us).distinct()
        ).scalars()
    ]


def prune_tombstones_batch(conn: Connection, account_id: int, before_us: int) -> int:
    """Forget up to DELETE_BATCH tombstones older than ``before_us``; how many went.

    A feed position before the newest of them can no longer see every deletion,
    so the account's ``pruned_seq`` moves up to it: such a position is gone (410).
    """
    rows = conn.execute(
        select(tombstones.c.id, tombstones.c.seq)
        .where(tombstones.c.account_id == account_id, tombstones.c.deleted_us < before_us)
        .order_by(tombstones.c.seq)
        .limit(DELETE_BATCH)
    ).all()
    if not rows:
        return 0
    newest = max(int(r.seq) for r in rows)
    conn.execute(
        delete(tombstones).where(
            tombstones.c.account_id == account_id,
            tombstones.c.deleted_us < before_us,
            tombstones.c.seq <= newest,
        )
    )
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(pruned_seq=func.max(accounts.c.pruned_seq, newest))
        if conn.dialect.name == "sqlite"
        else update(accounts)
        .where(accounts.c.id == account_id)
        .values(pruned_seq=func.greatest(accounts.c.pruned_seq, newest))
    )
    return len(rows)
