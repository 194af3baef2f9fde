"""The webhook outbox: messages, their delivery log, and senders' claims on them.

A message is pending exactly while ``next_attempt_us`` is set. A sender
claims due messages by moving ``next_attempt_us`` a lease ahead and writing
its claim token, in one transaction that skips rows another sender holds
(PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time). The
outcome is written only where the token is still the sender's, so an attempt
is never made twice unless a sender dies (or stalls past its lease) between
sending and recording: delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, tuple_, update

from sharelog.store.bulk import bulk_insert, one_of
from sharelog.store.schema import webhook_endpoints, webhook_messages
from sharelog.store.usage_rows import build_sessions
from sharelog.store.usage_sql import started_rows

_CHUNK = 1000
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
_LOG_COLUMNS = (
    webhook_messages.c.id,
    webhook_messages.c.type,
    webhook_messages.c.created_us,
    webhook_messages.c.status,
    webhook_messages.c.attempts,
    webhook_messages.c.next_attempt_us,
    webhook_messages.c.last_status_code,
    webhook_messages.c.last_error,
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a sender holds for one attempt."""

    account_id: int
    endpoint_id: str
    id: str
    type: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, to be written back under the sender's claim."""

    message: Claimed
    status: str
    next_attempt_us: int | None
    attempted_us: int
    status_code: int | None
    error: str | None


def insert_messages(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows with ``account_id, endpoint_id, id, type, seq, created_us, body``: all pending,
    due now. The rows are completed in place (a copy of each cost a tenth of an
    endpoint's share of an events request)."""
    for row in rows:
        row["status"] = PENDING
        row["attempts"] = 0
        row["next_attempt_us"] = row["created_us"]
    bulk_insert(conn, webhook_messages, rows)


def session_objects(
    conn: Connection, account_id: int, ids: Iterable[str], now_us: int
) -> dict[str, dict[str, Any]]:
    """Usage's object of each of these sessions (those in usage), as of this transaction."""
    unique = list(dict.fromkeys(ids))
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(unique), _CHUNK):
        # The driver's rows, as usage's chunks: an ended session's object is
        # most of what an endpoint costs an events request.
        rows = started_rows(conn, account_id, unique[i : i + _CHUNK])
        for session in build_sessions(conn, account_id, rows, now_us):
            found[session["id"]] = session
    return found


def message_log(
    conn: Connection,
    account_id: int,
    endpoint_id: str,
    *,
    status: str | None,
    before: tuple[int, str] | None,
    limit: int,
) -> list[Any]:
    """Newest first (``created_us``, then ``id``, descending), after the keyset ``before``."""
    query = select(*_LOG_COLUMNS).where(
        webhook_messages.c.account_id == account_id,
        webhook_messages.c.endpoint_id == endpoint_id,
    )
    if status is not None:
        query = query.where(webhook_messages.c.status == status)
    if before is not None:
        query = query.where(
            tuple_(webhook_messages.c.created_us, webhook_messages.c.id) < tuple_(*before)
        )
    return list(
        conn.execute(
            query.order_by(
                webhook_messages.c.created_us.desc(), webhook_messages.c.id.desc()
            ).limit(limit)
        )
    )


def requeue_since(
    conn: Connection, account_id: int, endpoint_id: str, since_us: int, now_us: int
) -> int:
    """Queue again (same ids, attempts from 0) every delivered or failed message created
    since ``since_us``. Returns how many messages created since then are queued now:
    those, and the pending ones, queued already (they keep their schedule: one may
    be in the middle of an attempt)."""
    since = (
        webhook_messages.c.account_id == account_id,
        webhook_messages.c.endpoint_id == endpoint_id,
        webhook_messages.c.created_us >= since_us,
    )
    pending = conn.execute(
        select(func.count())
        .select_from(webhook_messages)
        .where(*since, webhook_messages.c.next_attempt_us.is_not(None))
    ).scalar_one()
    result = conn.execute(
        update(webhook_messages)
        .where(*since, webhook_messages.c.next_attempt_us.is_(None))
        .values(status=PENDING, attempts=0, next_attempt_us=now_us)
    )
    return int(result.rowcount) + int(pending)


def claim_due(
    conn: Connection,
    account_id: int,
    endpoint_id: str,
    *,
    now_us: int,
    lease_until_us: int,
    token: str,
    limit: int,
) -> list[Claimed]:
    """Claim up to ``limit`` due messages of one endpoint, oldest due first."""
    due = (
        select(webhook_messages.c.id)
        .where(
            webhook_messages.c.account_id == account_id,
            webhook_messages.c.endpoint_id == endpoint_id,
            webhook_messages.c.next_attempt_us <= now_us,
        )
        .order_by(webhook_messages.c.next_attempt_us)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(webhook_messages)
        .where(
            webhook_messages.c.account_id == account_id,
            webhook_messages.c.endpoint_id == endpoint_id,
            one_of(conn, webhook_messages.c.id, ids),
        )
        .values(next_attempt_us=lease_until_us, claim=token)
        .returning(
            webhook_messages.c.id,
            webhook_messages.c.type,
            webhook_messages.c.body,
            webhook_messages.c.attempts,
        )
    ).all()
    return [Claimed(account_id, endpoint_id, r.id, r.type, r.body, int(r.attempts)) for r in rows]


def record_outcomes(conn: Connection, token: str, outcomes: Sequence[Outcome]) -> None:
    """Write attempts back; a message whose claim is no longer this sender's is left alone."""
    if not outcomes:
        return
    if conn.dialect.name == "postgresql":
        _record_outcomes_postgres(conn, token, outcomes)
        return
    conn.execute(
        update(webhook_messages)
        .where(
            webhook_messages.c.account_id == bindparam("b_account"),
            webhook_messages.c.endpoint_id == bindparam("b_endpoint"),
            webhook_messages.c.id == bindparam("b_id"),
            webhook_messages.c.claim == bindparam("b_token"),
        )
        .values(
            status=bindparam("b_status"),
            attempts=webhook_messages.c.attempts + 1,
            next_attempt_us=bindparam("b_next"),
            claim=None,
            last_attempt_us=bindparam("b_at"),
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
        ),
        [
            {
                "b_account": o.message.account_id,
                "b_endpoint": o.message.endpoint_id,
                "b_id": o.message.id,
                "b_token": token,
                "b_status": o.status,
                "b_next": o.next_attempt_us,
                "b_at": o.attempted_us,
                "b_code": o.status_code,
                "b_error": o.error,
            }
            for o in outcomes
        ],
    )


def _record_outcomes_postgres(conn: Connection, token: str, outcomes: Sequence[Outcome]) -> None:
    # One statement over arrays: an executemany costs a round trip a row, which
    # made a sender's claim (outcomes ride in it) take 40 ms and halved its rate.
    conn.exec_driver_sql(
        "UPDATE webhook_messages m SET status = v.status, attempts = m.attempts + 1, "
        "next_attempt_us = v.next_us, claim = NULL, last_attempt_us = v.at_us, "
        "last_status_code = v.code, last_error = v.error "
        "FROM unnest(%(accounts)s::integer[], %(endpoints)s::text[], %(ids)s::text[], "
        "%(statuses)s::text[], %(nexts)s::bigint[], %(ats)s::bigint[], %(codes)s::integer[], "
        "%(errors)s::text[]) AS v(account_id, endpoint_id, id, status, next_us, at_us, code, error) "
        "WHERE m.account_id = v.account_id AND m.endpoint_id = v.endpoint_id "
        "AND m.id = v.id AND m.claim = %(token)s",
        {
            "token": token,
            "accounts": [o.message.account_id for o in outcomes],
            "endpoints": [o.message.endpoint_id for o in outcomes],
            "ids": [o.message.id for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "nexts": [o.next_attempt_us for o in outcomes],
            "ats": [o.attempted_us for o in outcomes],
            "codes": [o.status_code for o in outcomes],
            "errors": [o.error for o in outcomes],
        },
    )


def release(conn: Connection, token: str, messages: Sequence[Claimed], now_us: int) -> None:
    """Hand back claimed messages not attempted (a sender stopping): due again at once."""
    for m in messages:
        conn.execute(
            update(webhook_messages)
            .where(
                webhook_messages.c.account_id == m.account_id,
                webhook_messages.c.endpoint_id == m.endpoint_id,
                webhook_messages.c.id == m.id,
                webhook_messages.c.claim == token,
            )
            .values(next_attempt_us=now_us, claim=None)
        )


def next_due_us(conn: Connection, account_id: int, endpoint_id: str) -> int | None:
    value = conn.execute(
        select(func.min(webhook_messages.c.next_attempt_us)).where(
            webhook_messages.c.account_id == account_id,
            webhook_messages.c.endpoint_id == endpoint_id,
        )
    ).scalar_one_or_none()
    return None if value is None else int(value)


def _endpoint_row(account_id: int, endpoint_id: str) -> list[Any]:
    return [webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id]


def note_delivery(conn: Connection, account_id: int, endpoint_id: str, now_us: int) -> None:
    """Record that the endpoint delivered: at most one row write a minute while all is well."""
    conn.execute(
        update(webhook_endpoints)
        .where(
            *_endpoint_row(account_id, endpoint_id),
            (webhook_endpoints.c.failing_since_us.is_not(None))
            | (webhook_endpoints.c.delivered_us.is_(None))
            | (webhook_endpoints.c.delivered_us < now_us - 60_000_000),
        )
        .values(delivered_us=now_us, failing_since_us=None)
    )


def note_failure(
    conn: Connection, account_id: int, endpoint_id: str, now_us: int, disable_after_us: int
) -> bool:
    """Record a failed attempt; disable the endpoint when it has failed, delivering
    nothing, for ``disable_after_us``. True when this call disabled it."""
    conn.execute(
        update(webhook_endpoints)
        .where(
            *_endpoint_row(account_id, endpoint_id),
            webhook_endpoints.c.failing_since_us.is_(None),
        )
        .values(failing_since_us=now_us)
    )
    result = conn.execute(
        update(webhook_endpoints)
        .where(
            *_endpoint_row(account_id, endpoint_id),
            webhook_endpoints.c.enabled.is_(True),
            webhook_endpoints.c.failing_since_us <= now_us - disable_after_us,
        )
        .values(
            enabled=False,
            disabled_reason=(
                f"no delivery for {disable_after_us // 86_400_000_000} days while messages failed"
            ),
            updated_us=now_us,
        )
    )
    return bool(result.rowcount)


def disable(conn: Connection, account_id: int, endpoint_id: str, reason: str, now_us: int) -> bool:
    result = conn.execute(
        update(webhook_endpoints)
        .where(*_endpoint_row(account_id, endpoint_id), webhook_endpoints.c.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, updated_us=now_us)
    )
    return bool(result.rowcount)


def queue_figures(conn: Connection) -> list[Any]:
    """Per endpoint: pending messages and the creation of the oldest (for /metrics)."""
    return list(
        conn.execute(
            select(
                webhook_messages.c.account_id,
                webhook_messages.c.endpoint_id,
                func.count().label("pending"),
                func.min(webhook_messages.c.created_us).label("oldest_us"),
            )
            .where(webhook_messages.c.next_attempt_us.is_not(None))
            .group_by(webhook_messages.c.account_id, webhook_messages.c.endpoint_id)
        )
    )
