"""Viewers' browsers, systems and devices over a window, and its highest peak:
what the dashboard's overview shows, counted by SQL rather than by paging
through every session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from sharelog.domain import UsageQuery
from sharelog.store.schema import sessions, viewers
from sharelog.store.usage import in_window


def client_summary(conn: Connection, account_id: int, query: UsageQuery) -> dict[str, Any]:
    """``{"peak", "browsers", "systems", "devices"}``; each list of ``{"name", "count"}``
    by count descending then name, unknown (null) last."""
    result: dict[str, Any] = {}
    peak = conn.execute(
        select(func.max(sessions.c.peak)).where(
            sessions.c.account_id == account_id, *in_window(query)
        )
    ).scalar()
    result["peak"] = int(peak or 0)
    joined = viewers.join(
        sessions,
        (sessions.c.account_id == viewers.c.account_id) & (sessions.c.id == viewers.c.session_id),
    )
    for key, column in (
        ("browsers", viewers.c.browser),
        ("systems", viewers.c.os),
        ("devices", viewers.c.device),
    ):
        rows = conn.execute(
            select(column, func.count())
            .select_from(joined)
            .where(
                viewers.c.account_id == account_id,
                viewers.c.joined_us.is_not(None),
                *in_window(query),
            )
            .group_by(column)
        ).all()
        groups = [{"name": name, "count": int(count)} for name, count in rows]
        groups.sort(key=lambda g: (-g["count"], g["name"] is None, g["name"] or ""))
        result[key] = groups
    return result
