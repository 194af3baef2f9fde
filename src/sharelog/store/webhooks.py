"""Webhook endpoints: an account's registered URLs, their secrets and delivery health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select, update

from sharelog.store.driver import fetch
from sharelog.store.schema import webhook_endpoints, webhook_messages
from sharelog.store.usage_sql import dialect_of


@dataclass(frozen=True, slots=True)
class Endpoint:
    account_id: int
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str | None
    secret: str
    old_secret: str | None
    old_secret_until_us: int | None
    created_us: int
    delivered_us: int | None
    failing_since_us: int | None

    def secrets(self, now_us: int) -> list[str]:
        """The secrets that sign a message sent now: the new one, then the old while it lasts."""
        if self.old_secret and self.old_secret_until_us and now_us < self.old_secret_until_us:
            return [self.secret, self.old_secret]
        return [self.secret]

    def wants(self, message_type: str) -> bool:
        return "*" in self.events or message_type in self.events


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        account_id=int(row.account_id),
        id=row.id,
        url=row.url,
        events=tuple(row.events.split(",")),
        description=row.description,
        enabled=bool(row.enabled),
        disabled_reason=row.disabled_reason,
        secret=row.secret,
        old_secret=row.old_secret,
        old_secret_until_us=row.old_secret_until_us,
        created_us=int(row.created_us),
        delivered_us=row.delivered_us,
        failing_since_us=row.failing_since_us,
    )


def insert_endpoint(
    conn: Connection,
    account_id: int,
    endpoint_id: str,
    *,
    url: str,
    events: tuple[str, ...],
    description: str,
    secret: str,
    now_us: int,
) -> Endpoint:
    conn.execute(
        webhook_endpoints.insert().values(
            account_id=account_id,
            id=endpoint_id,
            url=url,
            events=",".join(events),
            description=description,
            enabled=True,
            secret=secret,
            created_us=now_us,
            updated_us=now_us,
        )
    )
    found = get_endpoint(conn, account_id, endpoint_id)
    assert found is not None
    return found


def get_endpoint(conn: Connection, account_id: int, endpoint_id: str) -> Endpoint | None:
    row = conn.execute(
        select(webhook_endpoints).where(
            webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id
        )
    ).first()
    return None if row is None else _endpoint(row)


def account_endpoints(conn: Connection, account_id: int) -> list[Endpoint]:
    rows = conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.account_id == account_id)
        .order_by(webhook_endpoints.c.created_us, webhook_endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


def subscriptions(conn: Connection, account_id: int) -> list[tuple[str, tuple[str, ...]]]:
    """``(id, events)`` of the account's endpoints: what ingestion checks on every write.

    One probe of the primary key's leading column; an account without
    endpoints finds no row at all.
    """
    # On the driver's cursor (store/driver.py): every events request asks.
    m = dialect_of(conn).mark
    return [
        (endpoint_id, tuple(events.split(",")))
        for endpoint_id, events in fetch(
            conn, f"SELECT id, events FROM webhook_endpoints WHERE account_id = {m}", (account_id,)
        )
    ]


def enabled_endpoints(conn: Connection) -> list[Endpoint]:
    """Every enabled endpoint of every account: what a sender serves (a small table)."""
    rows = conn.execute(
        select(webhook_endpoints)
        .where(webhook_endpoints.c.enabled.is_(True))
        .order_by(webhook_endpoints.c.account_id, webhook_endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


def all_endpoints(conn: Connection) -> list[Endpoint]:
    rows = conn.execute(
        select(webhook_endpoints).order_by(webhook_endpoints.c.account_id, webhook_endpoints.c.id)
    )
    return [_endpoint(row) for row in rows]


def update_endpoint(
    conn: Connection, account_id: int, endpoint_id: str, now_us: int, **values: Any
) -> None:
    """Set the given columns (``events`` as a tuple); re-enabling clears the failure record
    and makes the endpoint's waiting messages due at once."""
    if "events" in values:
        values["events"] = ",".join(values["events"])
    if values.get("enabled") is True:
        values.update(disabled_reason=None, failing_since_us=None)
        conn.execute(
            update(webhook_messages)
            .where(
                webhook_messages.c.account_id == account_id,
                webhook_messages.c.endpoint_id == endpoint_id,
                webhook_messages.c.next_attempt_us > now_us,
                webhook_messages.c.claim.is_(None),
            )
            .values(next_attempt_us=now_us)
        )
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id)
        .values(updated_us=now_us, **values)
    )


def rotate_secret(
    conn: Connection,
    account_id: int,
    endpoint_id: str,
    secret: str,
    keep_until_us: int,
    now_us: int,
) -> None:
    """The new secret signs from now on; the current one keeps signing until ``keep_until_us``."""
    conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id)
        .values(
            old_secret=webhook_endpoints.c.secret,
            old_secret_until_us=keep_until_us,
            secret=secret,
            updated_us=now_us,
        )
    )


def delete_endpoint(conn: Connection, account_id: int, endpoint_id: str) -> bool:
    """Delete the endpoint and its messages; False when the account has no such endpoint."""
    conn.execute(
        delete(webhook_messages).where(
            webhook_messages.c.account_id == account_id,
            webhook_messages.c.endpoint_id == endpoint_id,
        )
    )
    result = conn.execute(
        delete(webhook_endpoints).where(
            webhook_endpoints.c.account_id == account_id, webhook_endpoints.c.id == endpoint_id
        )
    )
    return result.rowcount > 0
