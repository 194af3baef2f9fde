"""Engines and transactions: the one place that knows SQLite from PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk before
we acknowledge it), foreign keys on, and a busy timeout. Its writers are
serialised twice: a lock in this process (one writer at a time, as Datasette
does) and ``BEGIN IMMEDIATE`` against other processes. Reads run in parallel,
each in its own snapshot.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL

from sharelog.store.replicas import ReplicaChooser, commit_position, written


def normalise_url(url: str) -> URL:
    """``postgresql://`` selects psycopg 3; a bare path is taken as a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, *, pool_size: int = 5, busy_timeout_ms: int = 10_000) -> Engine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    return create_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        # No parallel plans: for a window's worth of rows, starting workers cost
        # more than they saved and made the same 28-day stats 1.2x to 1.8x slower
        # from one database size to another (19.4 vs 19.8 ms without them).
        # psycopg prepares a statement server-side after five runs, and the
        # generic plan PostgreSQL then cached while a table was small kept
        # scanning it whole as it grew (loading an event batch's sessions took
        # 16 ms by 20,000 sessions, 3 ms planned afresh). Unprepared statements
        # are planned for their parameters each time (~0.1 ms).
        connect_args={
            "options": "-c max_parallel_workers_per_gather=0",
            "prepare_threshold": None,
        },
    )


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sharelog_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


# The first key of PostgreSQL's two-key advisory locks that serialise one
# account's merging writes (the second is the account id). Any constant.
_ACCOUNT_LOCKS = 0x534C


class WriterLock:
    """One SQLite writer at a time: among this process's threads, and among processes.

    Across processes SQLite's own lock makes a waiting writer poll with sleeps
    of up to 100 ms; a blocking flock on a file beside the database wakes the
    next writer as soon as the lock is free (two workers ingesting events went
    from 16-22% to the figure in docs/performance.md).
    """

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._path = Path(database).expanduser().with_name(Path(database).name + "-writer.lock")
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            # A read-only directory: SQLite's own locking still serialises writers.
            pass

    def __exit__(self, *_: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class Database:
    """A primary engine for writes, and replicas for reads when they are fresh enough.

    ``read_url`` (``SHARELOG_READ_DATABASE_URL``) is one more replica, kept for
    the deployments that set it before ``replica_urls`` existed.
    """

    def __init__(
        self,
        url: str,
        *,
        read_url: str = "",
        replica_urls: tuple[str, ...] = (),
        max_lag_s: float = 5.0,
        pool_size: int = 5,
        busy_timeout_ms: int = 10_000,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms)
        urls = [u for u in (*replica_urls, read_url) if u]
        self.replica_engines = [
            make_engine(u, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms) for u in urls
        ]
        self.replicas = ReplicaChooser(self.replica_engines, max_lag_s)
        self.backend = self.engine.dialect.name
        self._write_lock: AbstractContextManager[Any] = nullcontext()
        if self.backend == "sqlite":
            self._write_lock = WriterLock(self.engine.url.database)

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @contextmanager
    def writing(self, account_id: int | None = None) -> Iterator[Connection]:
        """A write transaction, committed (durably) when the block exits without error.

        Writes that merge into an account's sessions pass ``account_id``: they
        read rows, merge and write them back, so they must not interleave.
        SQLite has one writer at a time anyway; on PostgreSQL they take the
        account's advisory lock (held to the commit). Accounts still write in
        parallel, and parsing and geolocation stay outside the lock.
        """
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(sharelog_write=True)
            with conn.begin():
                if account_id is not None and self.backend == "postgresql":
                    conn.exec_driver_sql(
                        "SELECT pg_advisory_xact_lock(%s, %s)", (_ACCOUNT_LOCKS, account_id)
                    )
                yield conn
            # A request's answer carries where its writes ended, for the reads
            # that must see them (Sharelog-Min-Position): after the commit, so a
            # replica that has replayed this far has replayed the commit too.
            holder = written.get()
            if holder is not None and self.backend == "postgresql":
                holder[:] = [commit_position(conn)]
                conn.rollback()

    @contextmanager
    def reading(self, *, primary: bool = False) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for the whole block.

        SQLite's read transactions are snapshots; PostgreSQL's default (read
        committed) takes a new one per statement, which let a page's end and
        its sessions disagree while sessions were being added.
        """
        engine = None if primary else self.replicas.choose()
        engine = engine or self.engine
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        for engine in self.replica_engines:
            engine.dispose()
