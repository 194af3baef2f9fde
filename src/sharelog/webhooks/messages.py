"""Which messages a write makes, recorded in that write's own transaction.

Called with the ``SessionChange`` tuple every session write returns (events,
imports, and deletions, erasures and retention sweeps with ``deleted=True``),
inside the transaction that made the changes, so that a committed change
always has its messages and a rolled-back one has none.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from sharelog.domain import SessionChange
from sharelog.store import outbox
from sharelog.store import webhooks as endpoint_store
from sharelog.store.fresh import FreshSessions
from sharelog.timestamps import format_timestamp

STARTED, ENDED, UPDATED, DELETED = (
    "session.started",
    "session.ended",
    "session.updated",
    "session.deleted",
)
MESSAGE_TYPES = (STARTED, ENDED, UPDATED, DELETED)
TEST = "webhook.test"


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


def new_message_ids(count: int) -> list[str]:
    """``count`` ids as ``new_message_id`` makes them, from one read of the OS's
    randomness (a batch of events may end hundreds of sessions)."""
    text = base64.urlsafe_b64encode(secrets.token_bytes(18 * count)).decode()
    return ["msg_" + text[i : i + 24] for i in range(0, 24 * count, 24)]


def types_of(change: SessionChange) -> list[str]:
    """The contract's rules, in the order a receiver would expect them."""
    if change.deleted:
        return [DELETED]
    if not change.listed:
        return []  # not in usage yet: nothing a receiver could see has changed
    kinds = [STARTED] if change.started else []
    kinds.append(UPDATED)
    if change.ended:
        kinds.append(ENDED)
    return kinds


def record_messages(
    conn: Connection,
    account_id: int,
    changes: Sequence[SessionChange],
    now_us: int,
    fresh: FreshSessions | None = None,
) -> int:
    """Queue the messages these changes make for the endpoints subscribed to them.

    An account without endpoints costs one indexed probe. Returns how many
    message rows were queued (one per message per endpoint).
    """
    if not changes:
        return 0
    subscribed = endpoint_store.subscriptions(conn, account_id)
    if not subscribed:
        return 0
    wanted = {
        kind for _, events in subscribed for kind in (MESSAGE_TYPES if "*" in events else events)
    }
    planned: list[tuple[SessionChange, str]] = []
    seen: set[tuple[str, str]] = set()
    for change in changes:
        for kind in types_of(change):
            # One message per session per type per write, whatever the caller passed.
            if kind in wanted and (change.id, kind) not in seen:
                seen.add((change.id, kind))
                planned.append((change, kind))
    if not planned:
        return 0
    shown = list(dict.fromkeys(c.id for c, kind in planned if kind != DELETED))
    # Sessions the request created come from its merged rows; the rest are read.
    objects = {} if fresh is None else fresh.objects(conn, account_id, shown, now_us)
    stored = [sid for sid in shown if fresh is None or not fresh.created(sid)]
    objects.update(outbox.session_objects(conn, account_id, stored, now_us))
    timestamp = format_timestamp(now_us)
    rows: list[dict[str, Any]] = []
    message_ids = iter(new_message_ids(len(planned) * len(subscribed)))
    for change, kind in planned:
        if kind == DELETED:
            data: dict[str, Any] = {"seq": change.seq, "id": change.id}
        else:
            session = objects.get(change.id)
            if session is None:  # deleted again within the same transaction
                continue
            data = {"seq": change.seq, "session": session}
        body = orjson.dumps({"type": kind, "timestamp": timestamp, "data": data}).decode()
        for endpoint_id, events in subscribed:
            if "*" in events or kind in events:
                rows.append(
                    {
                        "account_id": account_id,
                        "endpoint_id": endpoint_id,
                        "id": next(message_ids),
                        "type": kind,
                        "seq": change.seq,
                        "created_us": now_us,
                        "body": body,
                    }
                )
    outbox.insert_messages(conn, rows)
    return len(rows)


def ping_row(account_id: int, endpoint_id: str, now_us: int) -> dict[str, Any]:
    """The row of a ``webhook.test`` message for one endpoint."""
    body = {"type": TEST, "timestamp": format_timestamp(now_us), "data": {}}
    return {
        "account_id": account_id,
        "endpoint_id": endpoint_id,
        "id": new_message_id(),
        "type": TEST,
        "seq": None,
        "created_us": now_us,
        "body": orjson.dumps(body).decode(),
    }
