"""Sessions an events request created, as merged in memory: their usage objects
without reading them back.

A session that was not stored before the request has no shares and no viewers
but the request's own (a share or a viewer row is only ever written beside its
session's), so its usage object follows from the merged rows alone. The
webhook messages of such sessions (``session.started``, ``session.ended`` in
the same batch, the common case of a product that reports a short session at
once) are built from here: reading them back cost three statements a request,
most of what an endpoint cost ingestion on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sharelog.store.usage_rows import build_sessions, located_from
from sharelog.timestamps import format_timestamp


@dataclass(frozen=True, slots=True)
class FreshSessions:
    """The merged state of one events request (references, not copies: nothing is
    done with it unless an endpoint wants a message)."""

    # Every session the request touched, by id, as merged.
    sessions: dict[str, dict[str, Any]]
    # Those of them that were stored before the request.
    stored: Collection[str]
    # The share rows the request inserted (of any of its sessions).
    shares: list[dict[str, Any]]
    # The viewers the request merged, by (session, viewer).
    viewers: dict[tuple[str, str], dict[str, Any]]

    def created(self, sid: str) -> bool:
        """Whether the request created this session (it was not stored before)."""
        return sid in self.sessions and sid not in self.stored

    def objects(
        self, conn: Connection, account_id: int, ids: Iterable[str], now_us: int
    ) -> dict[str, dict[str, Any]]:
        """Usage's object of those of ``ids`` that are fresh and started, by id."""
        wanted = {
            sid for sid in ids if self.created(sid) and self.sessions[sid]["start_us"] is not None
        }
        if not wanted:
            return {}
        rows = [
            (
                sid,
                s["agent"],
                s["start_us"],
                s["end_us"],
                s["agent_name"],
                s["peak"],
                s["webcam_s"],
                s["webcam_open_us"],
            )
            for sid, s in self.sessions.items()
            if sid in wanted
        ]
        share_log: dict[str, list[dict[str, Any]]] = {}
        # The shares' order of store.usage_rows: (at, seq, event id), ids by code point.
        for share in sorted(
            (x for x in self.shares if x["session_id"] in wanted),
            key=lambda x: (x["at_us"], x["seq"], x["event_id"]),
        ):
            share_log.setdefault(share["session_id"], []).append(
                {
                    "at": format_timestamp(share["at_us"]),
                    "type": share["type"],
                    "title": share["title"],
                    "url": share["url"],
                }
            )
        # As VIEWER_SQL rows as far as located_from reads them: session, then place.
        listed = [
            (sid, vid, v["joined_us"], v["left_us"], v["country"], v["region"], v["city"])
            for (sid, vid), v in self.viewers.items()
            if sid in wanted and v["joined_us"] is not None
        ]
        built = build_sessions(
            conn,
            account_id,
            rows,
            now_us,
            located=located_from(listed),
            share_log=share_log,
        )
        return {o["id"]: o for o in built}
