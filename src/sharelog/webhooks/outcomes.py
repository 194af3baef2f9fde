"""Writing a sender's attempts back, and what they tell of their endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from sharelog.store import outbox
from sharelog.store.outbox import Outcome


def write_outcomes(
    conn: Connection, token: str, batch: Sequence[Outcome], now_us: int, disable_after_us: int
) -> None:
    """Record the attempts under the sender's claims; note each endpoint's delivery or
    failure (disabling it after ``disable_after_us`` of failures, or on 410 Gone)."""
    if not batch:
        return
    delivered: set[tuple[int, str]] = set()
    failing: set[tuple[int, str]] = set()
    gone: set[tuple[int, str]] = set()
    for o in batch:
        key = (o.message.account_id, o.message.endpoint_id)
        if o.status == outbox.DELIVERED:
            delivered.add(key)
        else:
            failing.add(key)
            if o.status_code == 410:
                gone.add(key)
    outbox.record_outcomes(conn, token, batch)
    for account_id, endpoint_id in sorted(delivered):
        outbox.note_delivery(conn, account_id, endpoint_id, now_us)
    for account_id, endpoint_id in sorted(failing - delivered):
        outbox.note_failure(conn, account_id, endpoint_id, now_us, disable_after_us)
    for account_id, endpoint_id in sorted(gone):
        outbox.disable(conn, account_id, endpoint_id, "the endpoint answered 410 Gone", now_us)
