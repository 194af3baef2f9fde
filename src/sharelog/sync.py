"""``sharelog sync``: keep a local account an exact copy of a server's, through its change feed.

Each page of changes is applied in one local transaction together with the
position after it, so a sync killed at any moment resumes where its last
commit left it: nothing is lost and nothing is applied twice.
"""

from __future__ import annotations

from typing import Any

from sharelog.client import ChangesPage
from sharelog.domain import Client, Location, SessionIn, ShareIn, ViewerIn
from sharelog.store import sessions as session_store
from sharelog.store import sync_state
from sharelog.store.database import Database
from sharelog.store.positions import mark_deleted
from sharelog.timestamps import now_us, parse_timestamp


class SourceMismatch(ValueError):
    """The local account is already a copy of another server's account."""


def _instant(value: Any) -> int | None:
    return None if value is None else parse_timestamp(value)


def session_from_detail(detail: dict[str, Any]) -> SessionIn:
    """A session as the feed shows it, as the import that recreates it exactly."""
    viewers = detail.get("viewers") or {}
    start = parse_timestamp(detail["start"])
    return SessionIn(
        id=detail["id"],
        agent=detail["agent"],
        start_us=start,
        end_us=_instant(detail.get("end")),
        shares=[
            ShareIn(
                at_us=parse_timestamp(s["at"]),
                type=s["type"],
                title=s.get("title") or "",
                url=s.get("url"),
            )
            for s in detail.get("shares") or []
        ],
        viewers=[
            ViewerIn(
                id=v["id"],
                joined_us=parse_timestamp(v["joined"]),
                left_us=_instant(v.get("left")),
                location=Location(v.get("country"), v.get("region"), v.get("city")),
                segments=[
                    (parse_timestamp(g["joined"]), _instant(g.get("left")))
                    for g in v.get("segments") or []
                ]
                or None,
                client=Client(v.get("browser"), v.get("os"), v.get("device") or "other")
                if v.get("browser") or v.get("os") or v.get("device")
                else None,
            )
            for v in viewers.get("list") or []
        ],
        agent_name=detail.get("agent_name"),
        webcam_seconds=int(detail.get("webcam_seconds") or 0),
    )


class Replica:
    """The local side: one account of a sharelog database, and its position."""

    def __init__(self, db: Database, account_id: int, source: str) -> None:
        self.db = db
        self.account_id = account_id
        self.source = source

    def position(self) -> str | None:
        """Where to resume; raises SourceMismatch for a copy of another server."""
        with self.db.reading(primary=True) as conn:
            state = sync_state.position(conn, self.account_id)
        if state is None:
            return None
        source, at = state
        if source != self.source:
            raise SourceMismatch(
                f"this account is a copy of {source}, not of {self.source}; "
                "sync another account (--account)"
            )
        return at

    def apply(self, page: ChangesPage) -> int:
        """Apply one page and keep its ``next``, in one transaction; how many changes."""
        updated = [session_from_detail(c["session"]) for c in page.changes if c["session"]]
        deleted = [c["id"] for c in page.changes if c.get("session") is None]
        with self.db.writing(self.account_id) as conn:
            moment = now_us()
            if updated:
                session_store.import_sessions(conn, self.account_id, updated, moment)
            existing = list(session_store.existing_sessions(conn, self.account_id, deleted))
            if existing:
                session_store.delete_sessions(conn, self.account_id, existing)
                mark_deleted(conn, self.account_id, existing, moment)
            sync_state.save_position(conn, self.account_id, self.source, page.next, moment)
        return len(page.changes)

    def reset(self) -> None:
        """Start over (the server no longer keeps our position): forget every session."""
        with self.db.writing(self.account_id) as conn:
            ids = sync_state.session_ids(conn, self.account_id)
            session_store.delete_sessions(conn, self.account_id, ids)
            mark_deleted(conn, self.account_id, ids, now_us())
            sync_state.forget_position(conn, self.account_id)
