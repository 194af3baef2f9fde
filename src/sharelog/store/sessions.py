"""Writing whole sessions: ``POST /ss/api/sessions`` replaces each session it names."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from sharelog.domain import IngestResult, SessionIn
from sharelog.store import segments
from sharelog.store.bulk import bulk_insert, one_of
from sharelog.store.positions import session_change, take_positions
from sharelog.store.schema import sessions, shares, viewers
from sharelog.store.session_entries import delete_entries


def existing_sessions(
    conn: Connection, account_id: int, ids: Sequence[str]
) -> dict[str, tuple[int | None, int | None]]:
    """The ``(start_us, end_us)`` of those of these sessions the account has."""
    if not ids:
        return {}
    return {
        row.id: (row.start_us, row.end_us)
        for row in conn.execute(
            select(sessions.c.id, sessions.c.start_us, sessions.c.end_us).where(
                sessions.c.account_id == account_id, one_of(conn, sessions.c.id, ids)
            )
        )
    }


def delete_sessions(conn: Connection, account_id: int, ids: Sequence[str]) -> None:
    """Remove sessions with their shares and viewers (explicitly: no reliance on cascades)."""
    if ids:
        for table, column in ((shares, shares.c.session_id), (viewers, viewers.c.session_id)):
            conn.execute(
                delete(table).where(table.c.account_id == account_id, one_of(conn, column, ids))
            )
        conn.execute(
            delete(sessions).where(
                sessions.c.account_id == account_id, one_of(conn, sessions.c.id, ids)
            )
        )
        delete_entries(conn, account_id, ids)


def import_sessions(
    conn: Connection, account_id: int, batch: Sequence[SessionIn], now_us: int
) -> IngestResult:
    """Replace (or create) each session whole, inside the caller's transaction.

    Within the batch a later session with the same id replaces an earlier one.
    An imported session stands as events would: its start as a session.started
    that wins ties (key ""), each viewer's joined and left as a join and a leave.
    """
    latest = {s.id: s for s in batch}
    ids = list(latest)
    existing = existing_sessions(conn, account_id, ids)
    delete_sessions(conn, account_id, [i for i in ids if i in existing])

    # Positions in the rows themselves: a separate UPDATE would cost a round trip a row.
    first = take_positions(conn, account_id, len(ids))
    session_rows, share_rows, viewer_rows = [], [], []
    for position, s in enumerate(latest.values(), start=first):
        session_rows.append(
            {
                "account_id": account_id,
                "id": s.id,
                "agent": s.agent,
                "start_us": s.start_us,
                "start_key": "",
                "end_us": s.end_us,
                "updated_us": now_us,
                "seq": position,
                "changed_us": now_us,
                **segments.imported_session_columns(s),
            }
        )
        for seq, share in enumerate(s.shares):
            share_rows.append(
                {
                    "account_id": account_id,
                    "session_id": s.id,
                    "seq": seq,
                    "event_id": "",
                    "at_us": share.at_us,
                    "type": share.type,
                    "title": share.title,
                    "url": share.url,
                }
            )
        for v in s.viewers:
            # The ingest layer has turned an ip into a location (perhaps all unknown).
            loc = v.location
            located = loc is not None
            viewer_rows.append(
                {
                    "account_id": account_id,
                    "session_id": s.id,
                    "id": v.id,
                    "joined_us": v.joined_us,
                    "last_join_us": v.joined_us,
                    "last_leave_us": v.left_us,
                    "left_us": v.left_us,
                    "country": loc.country if loc else None,
                    "region": loc.region if loc else None,
                    "city": loc.city if loc else None,
                    "loc_at_us": v.joined_us if located else None,
                    "loc_key": "" if located else None,
                    "ip": v.ip,
                    **segments.imported_viewer_columns(v),
                }
            )
    bulk_insert(conn, sessions, session_rows)
    bulk_insert(conn, shares, share_rows)
    bulk_insert(conn, viewers, viewer_rows)
    changes = tuple(
        session_change(sid, first + i, existing.get(sid), (s.start_us, s.end_us))
        for i, (sid, s) in enumerate(latest.items())
    )
    return IngestResult(
        received=len(batch),
        created=len(ids) - len(existing),
        replaced=len(existing),
        changes=changes,
    )
