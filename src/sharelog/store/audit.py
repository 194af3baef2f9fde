"""The audit log: what was done with admin rights, written in the same transaction as the act."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from sharelog.store.schema import audit_log

# What the CLI records as the key of an action taken against the database.
CLI_ACTOR = "cli"

ACTIONS = (
    "key.created",
    "key.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "account.updated",
    "agent.erased",
)


def record(
    conn: Connection, account_id: int, actor: str, action: str, target: str, now_us: int
) -> None:
    """Append one entry; call it inside the transaction that does the act.

    Ids count up per account. Admin writes hold the account's write lock
    (``Database.writing(account_id)``), so two entries never take one id.
    """
    assert action in ACTIONS, action
    last = conn.execute(
        select(func.max(audit_log.c.id)).where(audit_log.c.account_id == account_id)
    ).scalar_one()
    conn.execute(
        audit_log.insert().values(
            account_id=account_id,
            id=int(last or 0) + 1,
            at_us=now_us,
            key_prefix=actor,
            action=action,
            target=target,
        )
    )


def entries(
    conn: Connection, account_id: int, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first: ``id``, ``at_us``, ``key``, ``action``, ``target``."""
    query = select(audit_log).where(audit_log.c.account_id == account_id)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).all()
    return [
        {
            "id": int(r.id),
            "at_us": int(r.at_us),
            "key": r.key_prefix,
            "action": r.action,
            "target": r.target,
        }
        for r in rows
    ]
