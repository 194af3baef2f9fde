"""Writing whole sessions: ``POST /ss/api/sessions`` replaces each session it names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from sharelog.domain import IngestResult, SessionIn
from sharelog.store.schema import agents, sessions, shares, viewers

T = TypeVar("T")
# Bound parameters per IN list: far below SQLite's limit, large enough to be cheap.
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def insert_ignoring_conflicts(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping any whose primary key is already there."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (all with the same keys) the fastest way the backend has.

    PostgreSQL gets COPY: psycopg's executemany sends one statement per row,
    and COPY made a 5,000-session import 4x faster (bench/usage.py data load).
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])


def existing_session_ids(conn: Connection, account_id: int, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunked(ids):
        found.update(
            conn.execute(
                select(sessions.c.id).where(
                    sessions.c.account_id == account_id, sessions.c.id.in_(part)
                )
            ).scalars()
        )
    return found


def delete_sessions(conn: Connection, account_id: int, ids: Sequence[str]) -> None:
    """Remove sessions with their shares and viewers (explicitly: no reliance on cascades)."""
    for part in chunked(ids):
        for table, column in ((shares, shares.c.session_id), (viewers, viewers.c.session_id)):
            conn.execute(delete(table).where(table.c.account_id == account_id, column.in_(part)))
        conn.execute(
            delete(sessions).where(sessions.c.account_id == account_id, sessions.c.id.in_(part))
        )


def record_agents(conn: Connection, account_id: int, emails: Iterable[str], now_us: int) -> None:
    insert_ignoring_conflicts(
        conn,
        agents,
        [
            {"account_id": account_id, "email": e, "first_seen_us": now_us}
            for e in sorted(set(emails))
        ],
    )


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
    existing = existing_session_ids(conn, account_id, ids)
    delete_sessions(conn, account_id, [i for i in ids if i in existing])

    session_rows, share_rows, viewer_rows = [], [], []
    for s in latest.values():
        session_rows.append(
            {
                "account_id": account_id,
                "id": s.id,
                "agent": s.agent,
                "start_us": s.start_us,
                "start_key": "",
                "end_us": s.end_us,
                "updated_us": now_us,
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
                }
            )
    bulk_insert(conn, sessions, session_rows)
    bulk_insert(conn, shares, share_rows)
    bulk_insert(conn, viewers, viewer_rows)
    record_agents(conn, account_id, (s.agent for s in latest.values()), now_us)
    return IngestResult(
        received=len(batch), created=len(ids) - len(existing), replaced=len(existing)
    )
