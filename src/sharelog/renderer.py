"""Sessions' entries, written ahead by a running server (``store/session_entries.py``).

A catch-up through the change feed used to build every session from its rows
on every request, about 30 us a session of the server's time, and a usage
page about 10 (its shares and viewers read and grouped). Each ended session's
feed entry and usage object are now made once, shortly after the write that
changed it, in the background, and a feed page or a usage answer sends them
as they are. A session whose entries are not made yet (a write of a moment
ago, a code upgrade, the renderer off) is built as before: entries are only
ever a shortcut to the same bytes.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.responses import Response

from sharelog.background import Periodic
from sharelog.code_version import code_version
from sharelog.errors import Unavailable
from sharelog.store import session_entries as store
from sharelog.store.database import Database
from sharelog.store.replicas import written
from sharelog.store.session_entries import Bodies
from sharelog.timestamps import US_PER_SECOND, now_us

log = logging.getLogger("sharelog.feed")

# Sessions read and rendered in one snapshot, and written in one transaction.
RENDER_CHUNK = 500
# How often a server looks for positions not rendered yet (one small query).
RENDER_INTERVAL_SECONDS = 0.5
# Entries are written ahead for the accounts that read their feed or usage this
# recently: rendering as sessions end cost a server ingesting events a quarter
# of its rate (docs/sync.md), which an account that never reads should not pay.
FOLLOWED_DAYS = 7
# A body an account read within this while is still made, though it is not
# rendered for on its own: a reader coming back after a pause of more than
# FOLLOWED_DAYS would otherwise have the account's whole history made again
# (a body dropped is made again from the first position).
KEPT_DAYS = 35
DAY_US = 86_400 * US_PER_SECOND
MINUTE_US = 60_000_000


class EntryRenderer(Periodic):
    """Renders what every reading account's positions moved past, every interval."""

    name = "feed-entries"

    def __init__(self, db: Database, interval_seconds: float) -> None:
        super().__init__(interval_seconds, log)
        self.db = db

    def round(self) -> None:
        render_pending(self.db, self.stopping)


def render_pending(db: Database, stop: threading.Event | None = None) -> int:
    """Render every account's entries up to its latest position; how many were written.

    Each chunk is claimed by moving ``accounts.rendered_seq`` in the transaction
    that writes its entries, so processes that render at once never write the
    same chunk twice (the one that loses throws its work away).
    """
    version = code_version()
    written = 0
    now = now_us()
    followed_since = now - FOLLOWED_DAYS * DAY_US
    with db.reading(primary=True) as conn:
        behind = store.accounts_behind(conn, followed_since, now - KEPT_DAYS * DAY_US, version)
    for seen in behind:
        rendered = seen.start(version)
        bodies = seen.bodies(version)
        while stop is None or not stop.is_set():
            with db.reading(primary=True) as conn:
                chunk = store.render_after(
                    conn, seen.account_id, rendered, RENDER_CHUNK, now_us(), bodies
                )
            if chunk.through_seq <= rendered and seen.current(version):
                break
            # The account's write lock, as every writer of its sessions takes it
            # first: the claim and the entries' rows are then locked in one order.
            with db.writing(seen.account_id) as conn:
                if not store.claim(conn, seen, chunk.through_seq, version, bodies):
                    break
                store.write_entries(conn, seen.account_id, version, chunk.entries)
            written += len(chunk.entries)
            rendered = chunk.through_seq
            seen = seen.moved(rendered, version, bodies)
    return written


def _this_minute() -> int:
    return now_us() // MINUTE_US * MINUTE_US


class ReadNotes:
    """Which accounts' reads (of the feed, of usage) this process recorded this
    minute: no answer reads ``accounts.feed_read_us`` or ``usage_read_us`` to know
    (a usage page has no statement to spare), so each process records each kind
    of an account's reads once a minute at most."""

    def __init__(self) -> None:
        self._minute = 0
        self._noted: set[tuple[int, Bodies]] = set()  # this minute's only
        self._lock = threading.Lock()

    def due(self, account_id: int, body: Bodies) -> bool:
        """True once a minute for each account and kind: its read is to be recorded."""
        minute = _this_minute()
        with self._lock:
            if minute != self._minute:
                self._minute, self._noted = minute, set()
            if (account_id, body) in self._noted:
                return False
            self._noted.add((account_id, body))
            return True

    def note_after(self, response: Response, db: Database, account_id: int, body: Bodies) -> None:
        """Record the account's read of ``body`` after ``response`` is sent, when it
        is due: a read never waits for the writer's lock."""
        if not self.due(account_id, body):
            return
        note = BackgroundTask(note_read, db, account_id, body)
        earlier = response.background
        response.background = note if earlier is None else BackgroundTasks([earlier, note])


def note_read(db: Database, account_id: int, body: Bodies) -> None:
    """Record, to the minute, that the account reads its feed or usage: one small
    write a minute at most. Bookkeeping, not the request's own write: it never
    fails the request and gives it no ``Sharelog-Position``."""
    request_writes = written.set(None)
    try:
        with db.writing() as conn:
            store.note_read(conn, account_id, body, _this_minute())
    except (SQLAlchemyError, Unavailable) as exc:
        log.warning("could not record that account %s reads: %s", account_id, exc)
    finally:
        written.reset(request_writes)
