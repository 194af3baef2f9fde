"""A page's stats read beside its sessions, on a second SQLite snapshot.

A first page's stats (index seeks over every agent of the account, 3-5 ms for
500 agents; ``store.running_totals``) and its sessions (mostly Python: rows
made into objects) are independent reads. On two snapshots they overlap: the
stats' one statement holds no GIL while SQLite runs it. The second snapshot
answers only if it shows the account at the change-feed position the page's
snapshot shows (``accounts.last_seq``, which every write of its sessions
moves): then both hold the same sessions, as ``StatsCache`` relies on. When a
write came between the two, the page's snapshot computes the stats after all.

SQLite only: its reads never wait on a writer and its pool is large. One
helper at a time (``_SLOT``): with requests in flight the cores are busy
already, and a page that finds the helper taken reads its stats itself.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import Connection

from sharelog.domain import UsageQuery
from sharelog.store.database import Database
from sharelog.store.positions import current_position
from sharelog.store.usage_stats import Stats, StatsCache

_SLOT = threading.BoundedSemaphore(1)
_HELPER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stats-beside")


def stats_beside(
    db: Database, account_id: int, query: UsageQuery, cache: StatsCache, version: int
) -> Future[Stats | None] | None:
    """The window's stats, computed in a snapshot of their own on the helper; the
    future's None: that snapshot did not show ``version``. None: no helper (not
    SQLite, or the helper is busy)."""
    if not db.is_sqlite or not _SLOT.acquire(blocking=False):
        return None

    def compute() -> Stats | None:
        try:
            with db.reading() as conn:
                if current_position(conn, account_id) != version:
                    return None
                return cache.compute(conn, account_id, query, version)
        finally:
            _SLOT.release()

    try:
        return _HELPER.submit(contextvars.copy_context().run, compute)
    except BaseException:
        _SLOT.release()
        raise


def stats_while(
    db: Database,
    conn: Connection,
    cache: StatsCache,
    account_id: int,
    query: UsageQuery,
    work: Callable[[], object] | None = None,
) -> Stats:
    """The window's stats as of ``conn``'s snapshot, with ``work()`` (a page's reads,
    in that snapshot) done meanwhile: kept ones; or, with work to overlap, read
    beside it on the helper; or read in ``conn`` after it."""
    version, found = cache.lookup(conn, account_id, query)
    beside = None
    if found is None and work is not None:
        beside = stats_beside(db, account_id, query, cache, version)
    if work is not None:
        work()
    if found is None and beside is not None:
        found = beside.result()
    return found if found is not None else cache.compute(conn, account_id, query, version)
