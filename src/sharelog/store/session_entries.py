"""Sessions' entries written ahead: what the renderer reads, claims and writes.

An ended session's entries are its ``session`` object as the change feed shows
it (JSON, instants with microseconds) and its usage object (instants in whole
seconds), kept with the ``seq`` they were made at and the code's version.
Every write that changes a session gives it a new ``seq``
(``store/positions.py``), so an entry is valid exactly while both match: no
write path has to remember to throw one away. The renderer follows each
account's positions like a feed client, from ``accounts.rendered_seq``, and
makes only the bodies the account reads (``Bodies``): a dashboard that reads
usage alone never has feed entries written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntFlag

import orjson
from sqlalchemy import ColumnElement, Connection, delete, false, select, update

from sharelog.store.bulk import insert_tuples, one_of
from sharelog.store.details import details_of
from sharelog.store.driver import Row
from sharelog.store.schema import accounts, session_entries, sessions
from sharelog.store.usage_rows import build_sessions, located_from
from sharelog.store.usage_sql import feed_rows, listed_viewers
from sharelog.timestamps import format_timestamp_us

# (session id, seq, feed JSON, usage JSON); a body is None when not made.
Entry = tuple[str, int, str | None, str | None]


class Bodies(IntFlag):
    """Which of a session's entries are made (``accounts.rendered_bodies``)."""

    NONE = 0
    FEED = 1
    USAGE = 2


BOTH = Bodies.FEED | Bodies.USAGE
# Where a read of each kind is recorded.
READ_COLUMNS = {Bodies.FEED: accounts.c.feed_read_us, Bodies.USAGE: accounts.c.usage_read_us}


@dataclass(frozen=True, slots=True)
class Rendered:
    """Entries made from one snapshot, and how far that snapshot's positions go."""

    entries: list[Entry]
    through_seq: int


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an account's entries are rendered, by which code and with which
    bodies; the bodies the account reads lately (``wanted``), and those it read
    within a longer while (``kept``: still made, so that a reader coming back
    after a pause does not have everything made again)."""

    account_id: int
    rendered_seq: int
    rendered_version: str | None
    rendered_bodies: Bodies
    wanted: Bodies
    kept: Bodies

    def current(self, version: str) -> bool:
        """Rendered by ``version`` with every body the account reads lately."""
        return self.rendered_version == version and not self.wanted & ~self.rendered_bodies

    def start(self, version: str) -> int:
        """Where ``version`` renders from: entries of other code, or without a body
        the account reads lately, are all made again."""
        return self.rendered_seq if self.current(version) else 0

    def bodies(self, version: str) -> Bodies:
        """What to make from ``start``: every body kept, when starting again; else
        those of the kept bodies that every entry up to ``rendered_seq`` has."""
        return self.kept if not self.current(version) else self.kept & self.rendered_bodies

    def moved(self, through_seq: int, version: str, bodies: Bodies) -> Progress:
        """The account's progress once this renderer has claimed ``through_seq``,
        having made ``bodies``."""
        return Progress(self.account_id, through_seq, version, bodies, self.wanted, self.kept)


def _read_since(since_us: int) -> dict[Bodies, ColumnElement[bool]]:
    return {
        body: column.is_not(None) & (column >= since_us) for body, column in READ_COLUMNS.items()
    }


def _bodies(feed: object, usage: object) -> Bodies:
    return (Bodies.FEED if feed else Bodies.NONE) | (Bodies.USAGE if usage else Bodies.NONE)


def accounts_behind(
    conn: Connection, followed_since_us: int, kept_since_us: int, version: str
) -> list[Progress]:
    """Every account that read its feed or usage since ``followed_since_us`` and has
    positions not rendered yet, rendered by other code, or rendered without a
    body it read since then; with the bodies it read since ``kept_since_us``."""
    reads, kept = _read_since(followed_since_us), _read_since(kept_since_us)
    missing: ColumnElement[bool] = false()
    for body, read in reads.items():
        missing = missing | (read & (accounts.c.rendered_bodies.op("&")(int(body)) == 0))
    rows = conn.execute(
        select(
            accounts.c.id,
            accounts.c.rendered_seq,
            accounts.c.rendered_version,
            accounts.c.rendered_bodies,
            *reads.values(),
            *kept.values(),
        ).where(
            reads[Bodies.FEED] | reads[Bodies.USAGE],
            (accounts.c.last_seq > accounts.c.rendered_seq)
            | (
                (accounts.c.last_seq > 0)
                & (accounts.c.rendered_version.is_distinct_from(version) | missing)
            ),
        )
    ).all()
    return [
        Progress(
            int(r[0]), int(r[1]), r[2], Bodies(int(r[3])), _bodies(r[4], r[5]), _bodies(r[6], r[7])
        )
        for r in rows
    ]


def note_read(conn: Connection, account_id: int, body: Bodies, minute_us: int) -> None:
    """Record that the account read ``body`` (its feed or its usage) in ``minute_us``
    (a no-op when recorded)."""
    column = READ_COLUMNS[body]
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id, column.is_(None) | (column < minute_us))
        .values({column: minute_us})
    )


def render_after(
    conn: Connection,
    account_id: int,
    after_seq: int,
    limit: int,
    now_us: int,
    bodies: Bodies = BOTH,
) -> Rendered:
    """The entries (``bodies`` of them) of the ended sessions among the first
    ``limit`` started ones after ``after_seq``, read in ``conn``'s snapshot.

    A snapshot that shows a position shows every position before it (positions
    become visible in commit order), so everything up to ``through_seq`` has
    been seen: the account's latest position when fewer than ``limit`` came.
    Sessions still going on are passed over; ending gives them a new ``seq``.
    """
    rows = feed_rows(conn, account_id, after_seq, limit)
    if len(rows) < limit:
        # None when the account was deleted meanwhile: its claim then fails.
        latest = conn.execute(
            select(accounts.c.last_seq).where(accounts.c.id == account_id)
        ).scalar()
        through = max(after_seq, int(latest or 0))
    else:
        through = int(rows[-1][0])
    ended: list[Row] = [r for r in rows if r[5] is not None]
    heads = [r[2:-1] for r in ended]
    feed: dict[str, str] = {}
    usage: dict[str, str] = {}
    if heads and bodies:
        # Both bodies from one read of the viewers: the feed lists them, usage groups them.
        listed = listed_viewers(conn, account_id, [r[0] for r in heads])
        located = located_from(listed)
        if Bodies.FEED in bodies:
            made = details_of(conn, account_id, heads, now_us, format_timestamp_us, listed, located)
            feed = {sid: orjson.dumps(body).decode() for sid, body in made.items()}
        if Bodies.USAGE in bodies:
            built = build_sessions(conn, account_id, heads, now_us, located=located)
            usage = {u["id"]: orjson.dumps(u).decode() for u in built}
    entries = [(r[2], int(r[0]), feed.get(r[2]), usage.get(r[2])) for r in ended]
    return Rendered(entries, through)


def claim(conn: Connection, seen: Progress, through_seq: int, version: str, bodies: Bodies) -> bool:
    """Move the account's rendering from what ``seen`` read to ``through_seq`` by
    ``version``, with ``bodies`` made; False when another renderer moved it first
    (its entries are then kept, not these)."""
    moved = conn.execute(
        update(accounts)
        .where(
            accounts.c.id == seen.account_id,
            accounts.c.rendered_seq == seen.rendered_seq,
            accounts.c.rendered_version.is_not_distinct_from(seen.rendered_version),
            accounts.c.rendered_bodies == int(seen.rendered_bodies),
        )
        .values(rendered_seq=through_seq, rendered_version=version, rendered_bodies=int(bodies))
    )
    return moved.rowcount == 1


def write_entries(
    conn: Connection, account_id: int, version: str, entries: Sequence[Entry]
) -> None:
    """Store entries in place of any the sessions had.

    Only the renderer that claimed a chunk writes it, and claims follow one
    another (each starts where the last ended, in its own transaction), so a
    later chunk's entry of a session always replaces an earlier one's.
    Deleted and copied rather than upserted: an upsert over arrays of JSON
    text took 147 us an entry on PostgreSQL, COPY about 12.
    """
    if not entries:
        return
    ids = [entry[0] for entry in entries]
    delete_entries(conn, account_id, ids)
    # Only sessions still at the position they were rendered at: one deleted (or
    # changed) since the snapshot would otherwise leave a row nothing removes.
    current = {
        (r[0], int(r[1]))
        for r in conn.execute(
            select(sessions.c.id, sessions.c.seq).where(
                sessions.c.account_id == account_id, one_of(conn, sessions.c.id, ids)
            )
        )
    }
    rows = [
        (account_id, sid, seq, version, feed, usage)
        for sid, seq, feed, usage in entries
        if (sid, seq) in current
    ]
    columns = ("account_id", "id", "seq", "version", "feed", "usage")
    insert_tuples(conn, session_entries, columns, rows)


def delete_entries(conn: Connection, account_id: int, ids: Sequence[str]) -> None:
    """Forget the entries of deleted sessions."""
    conn.execute(
        delete(session_entries).where(
            session_entries.c.account_id == account_id, one_of(conn, session_entries.c.id, ids)
        )
    )
