"""The deployment's signing secret, generated once and kept in the database.

Used when ``SHARELOG_SECRET_KEY`` is not set, so that every process of one
deployment (and a read replica of its database) signs and checks cursors and
change tokens with the same key, across restarts.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from sharelog.store.bulk import insert_ignoring_conflicts
from sharelog.store.schema import server_settings

_NAME = "signing_secret"


def stored_signing_secret(conn: Connection) -> str | None:
    """The stored secret, or None before anyone has made it."""
    value = conn.execute(
        select(server_settings.c.value).where(server_settings.c.name == _NAME)
    ).scalar_one_or_none()
    return None if value is None else str(value)


def signing_secret(conn: Connection) -> str:
    """The stored secret; the first caller (of any process) creates it."""
    insert_ignoring_conflicts(
        conn, server_settings, [{"name": _NAME, "value": secrets.token_urlsafe(32)}]
    )
    value = conn.execute(
        select(server_settings.c.value).where(server_settings.c.name == _NAME)
    ).scalar_one()
    return str(value)
