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
from concurrent.futures import Future, ThreadPoolExecutor

from sharelog.domain import UsageQuery
from sharelog.store.database import Database
from sharelog.store.usage_stats import Stats, StatsCache, position

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
                if position(conn, account_id) != version:
                    return None
                return cache.compute(conn, account_id, query, version)
        finally:
            _SLOT.release()

    try:
        return _HELPER.submit(contextvars.copy_context().run, compute)
    except BaseException:
        _SLOT.release()
        raise
