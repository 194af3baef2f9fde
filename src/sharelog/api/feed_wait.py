"""Long polling for the change feed: wake a waiting request when its account moves on.

One task per process watches the accounts that have requests waiting, however
many requests there are: every ``POLL_SECONDS`` it reads their latest
positions in one query (a primary-key lookup each), so a commit in any process
wakes them. On PostgreSQL it also LISTENs on the channel that every write
NOTIFYs at commit, and wakes at once.

Through PgBouncer in transaction mode a LISTEN is accepted but its server
connection goes back to the pool, and no notification ever arrives. So the
listener first NOTIFYs itself from another connection: when that does not
arrive within a second, it gives up for good and the watcher keeps polling
every ``POLL_SECONDS`` (docs/pgbouncer.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import defaultdict
from typing import Any

import psycopg
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from sharelog.store.database import Database
from sharelog.store.positions import CHANGES_CHANNEL
from sharelog.store.schema import accounts

log = logging.getLogger("sharelog.feed")

POLL_SECONDS = 0.1
# With LISTEN, polling is only a safety net (a notification lost with its connection).
LISTENING_POLL_SECONDS = 1.0
PROBE_SECONDS = 1.0


class ChangeWaiter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[int, list[tuple[int, asyncio.Future[None]]]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._listening = False
        # False once a probe showed that notifications do not arrive (PgBouncer).
        self.listen_works: bool | None = None

    async def wait(self, account_id: int, after: int, timeout: float) -> None:
        """Return once the account's latest position is past ``after``, or ``timeout`` passed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (after, future)
        self._waiting[account_id].append(entry)
        self._ensure_running()
        self._wake.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), timeout)
        finally:
            entries = self._waiting.get(account_id, [])
            if entry in entries:
                entries.remove(entry)
            if not entries:
                self._waiting.pop(account_id, None)

    def _ensure_running(self) -> None:
        # In a context of their own: these tasks outlive the request that starts
        # them, and must not read through its pinned replica or its min position.
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch(), context=contextvars.Context())
        if (
            self.db.backend == "postgresql"
            and self.listen_works is not False
            and (self._listener is None or self._listener.done())
        ):
            self._listener = asyncio.create_task(self._listen(), context=contextvars.Context())

    def _positions(self, ids: list[int]) -> dict[int, int]:
        with self.db.reading() as conn:
            rows = conn.execute(
                select(accounts.c.id, accounts.c.last_seq).where(accounts.c.id.in_(ids))
            ).all()
        return {int(r.id): int(r.last_seq) for r in rows}

    async def _watch(self) -> None:
        while self._waiting:
            self._wake.clear()
            try:
                positions = await run_in_threadpool(self._positions, list(self._waiting))
            except Exception:  # the database is away: the waits simply time out
                log.warning("change feed: reading positions failed", exc_info=True)
                positions = {}
            for account_id, entries in list(self._waiting.items()):
                latest = positions.get(account_id)
                for after, future in entries:
                    if latest is not None and latest > after and not future.done():
                        future.set_result(None)
            interval = LISTENING_POLL_SECONDS if self._listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def _listen(self) -> None:
        url = self.db.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                if self.listen_works is None:
                    self.listen_works = await self._probe(conn)
                    if not self.listen_works:
                        log.warning("change feed: LISTEN gets no notifications, polling instead")
                        return
                self._listening = True
                async for _ in conn.notifies():
                    self._wake.set()
                    if not self._waiting:
                        return
        except Exception:
            log.warning("change feed: LISTEN failed, polling instead", exc_info=True)
        finally:
            self._listening = False

    async def _probe(self, conn: psycopg.AsyncConnection[Any]) -> bool:
        def notify() -> None:
            with self.db.engine.connect() as other:
                other.exec_driver_sql(f"NOTIFY {CHANGES_CHANNEL}, 'probe'")
                other.commit()

        await run_in_threadpool(notify)
        async for _ in conn.notifies(timeout=PROBE_SECONDS, stop_after=1):
            return True
        return False

    async def close(self) -> None:
        for task in (self._watcher, self._listener):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
