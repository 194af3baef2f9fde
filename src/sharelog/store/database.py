"""Engines and transactions: the one place that knows SQLite from PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk before
we acknowledge it), foreign keys on, and a busy timeout. Its writers are
serialised twice: a lock in this process (one writer at a time, as Datasette
does) and ``BEGIN IMMEDIATE`` against other processes. Reads run in parallel,
each in its own snapshot.

Every wait has an end (``Limits``): for a pooled connection, for the writer
lock or an account's lock, for a statement, for an idle transaction. A wait
that runs out is ``Unavailable`` (503 with Retry-After), never a hung request.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from sharelog.errors import Unavailable
from sharelog.store import running_totals
from sharelog.store.replicas import ReplicaChooser, commit_position, pinned, written

# Seconds a client is told to wait after a 503 for a busy database.
RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class Limits:
    """How many connections, and how long each kind of wait may last.

    The defaults are the settings' defaults (``sharelog.config``).
    """

    pool_size: int = 5
    # API-key checks get a pool of their own, so a busy main pool never turns
    # a key check into a wait (and every request starts with one).
    key_pool_size: int = 2
    pool_timeout_seconds: float = 10.0
    # SQLite: the writer lock (this process's threads and other processes).
    busy_timeout_ms: int = 10_000
    # SQLite: reads through memory-mapped I/O, up to this much of the file (0: none).
    sqlite_mmap_bytes: int = 0
    # PostgreSQL: an account's write lock.
    lock_timeout_ms: int = 10_000
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000


def normalise_url(url: str) -> URL:
    """``postgresql://`` selects psycopg 3; a bare path is taken as a SQLite file."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, limits: Limits | None = None, *, pool_size: int | None = None) -> Engine:
    """An engine of ``pool_size`` connections (default ``limits.pool_size``), no overflow.

    No overflow: the connections a deployment opens are exactly processes x
    (pool size + key pool size), which is what has to fit PostgreSQL's
    ``max_connections`` (README, docs/pgbouncer.md).
    """
    limits = limits or Limits()
    size = limits.pool_size if pool_size is None else pool_size
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, limits, pool_size)
    options = [
        "max_parallel_workers_per_gather=0",
        f"statement_timeout={int(limits.statement_timeout_ms)}",
        f"idle_in_transaction_session_timeout={int(limits.idle_in_transaction_timeout_ms)}",
    ]
    return create_engine(
        parsed,
        # Parameters hold key hashes, emails and addresses: never in an error or a log.
        hide_parameters=True,
        pool_size=size,
        max_overflow=0,
        pool_timeout=limits.pool_timeout_seconds,
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
        # statement_timeout and idle_in_transaction_session_timeout end a stuck
        # statement or a transaction left open (its snapshot holds back vacuum).
        # PgBouncer does not pass these startup options on: docs/pgbouncer.md.
        connect_args={
            "options": " ".join(f"-c {option}" for option in options),
            "prepare_threshold": None,
        },
    )


def _bind_nulls_and_bools_fast() -> None:
    """Adapters for None and bool in the sqlite3 module, which binds them as before
    (NULL; 1 and 0), only sooner.

    Without an adapter the module looks for ``__adapt__`` and ``__conform__`` on
    every None or bool it binds, two failed attribute lookups: 0.3 us a value,
    against 0.05 for an int. A viewer's row has a dozen of them, and an events
    batch's statements spent a quarter of their time on it (bench/events.py;
    docs/performance.md). ``{}.get`` answers None for anything, in C. The
    registry is the module's, for the whole process: these two only make
    binding cheaper, they bind nothing differently.
    """
    sqlite3.register_adapter(type(None), cast(Callable[[None], None], {}.get))
    sqlite3.register_adapter(bool, int)


def _sqlite_engine(url: URL, limits: Limits, pool_size: int | None) -> Engine:
    _bind_nulls_and_bools_fast()
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    busy_timeout_ms = limits.busy_timeout_ms
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        # SQLite connections are cheap and reads run in parallel: more than
        # PostgreSQL's, but bounded, and a wait for one ends.
        pool_size=8 if pool_size is None else pool_size,
        max_overflow=16 if pool_size is None else 0,
        pool_timeout=limits.pool_timeout_seconds,
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
        # Off unless set: mapped, pages are read in place from the OS's cache, not
        # copied into each connection's 2 MB cache (a usage stats' seeks over 500
        # agents touch ~2,500 pages), but every mapped page read counts in the
        # process's RSS (docs/deployment.md).
        cursor.execute(f"PRAGMA mmap_size={int(limits.sqlite_mmap_bytes)}")
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
_LOCK_NOT_AVAILABLE = "55P03"


def _busy(what: str) -> Unavailable:
    return Unavailable(f"{what}; try again shortly", retry_after=RETRY_AFTER_SECONDS)


class WriterLock:
    """One SQLite writer at a time: among this process's threads, and among processes.

    Across processes SQLite's own lock makes a waiting writer poll with sleeps
    of up to 100 ms; a flock on a file beside the database, polled every few
    milliseconds, hands the lock on far sooner (two workers ingesting events went
    from 16-22% to the figure in docs/performance.md). Both waits together last
    at most ``timeout_ms`` (``SHARELOG_SQLITE_BUSY_TIMEOUT_MS``): a writer
    waiting longer would hold a thread-pool slot that reads need.
    """

    def __init__(self, database: str | None, timeout_ms: int = 10_000) -> None:
        self._threads = threading.Lock()
        self._timeout = timeout_ms / 1000
        self._path = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._path = Path(database).expanduser().with_name(Path(database).name + "-writer.lock")
        self._fd: int | None = None

    def __enter__(self) -> None:
        deadline = time.monotonic() + self._timeout
        if not self._threads.acquire(timeout=self._timeout):
            raise _busy("another write is taking too long")
        if self._path is None:
            return
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._flock(self._fd, deadline)
        except OSError:
            # A read-only directory: SQLite's own locking still serialises writers.
            pass
        except BaseException:
            self._threads.release()
            raise

    @staticmethod
    def _flock(fd: int, deadline: float) -> None:
        # flock has no timeout of its own: poll, from 0.5 ms up to 5 ms apart.
        pause = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy("another process's write is taking too long") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.005)

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
        limits: Limits | None = None,
    ) -> None:
        self.url = url
        self.limits = limits = limits or Limits()
        self.engine = make_engine(url, limits)
        urls = [u for u in (*replica_urls, read_url) if u]
        self.replica_engines = [make_engine(u, limits) for u in urls]
        self.replicas = ReplicaChooser(self.replica_engines, max_lag_s)
        # Connects lazily: only processes that check keys open it.
        self.key_engine = make_engine(url, limits, pool_size=limits.key_pool_size)
        self.backend = self.engine.dialect.name
        self._write_lock: AbstractContextManager[Any] = nullcontext()
        if self.backend == "sqlite":
            self._write_lock = WriterLock(self.engine.url.database, limits.busy_timeout_ms)

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
        parallel, and parsing and geolocation stay outside the lock. Before the
        commit, the account's running totals its writes made stale are settled
        (``store/running_totals.py``).
        """
        with self._write_lock, self.engine.connect() as conn:
            conn.execution_options(sharelog_write=True)
            with conn.begin():
                if account_id is not None and self.backend == "postgresql":
                    self._lock_account(conn, account_id)
                yield conn
                if account_id is not None:
                    running_totals.settle(conn, account_id)
            # A request's answer carries where its writes ended, for the reads
            # that must see them (Sharelog-Min-Position): after the commit, so a
            # replica that has replayed this far has replayed the commit too.
            holder = written.get()
            if holder is not None and self.backend == "postgresql":
                holder[:] = [commit_position(conn)]
                conn.rollback()

    def _lock_account(self, conn: Connection, account_id: int) -> None:
        # SET LOCAL, not a startup option: it holds through PgBouncer too, and
        # lock_timeout then also bounds the row locks the transaction waits for.
        conn.exec_driver_sql(
            "SELECT set_config('lock_timeout', %s, true)", (f"{int(self.limits.lock_timeout_ms)}",)
        )
        try:
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(%s, %s)", (_ACCOUNT_LOCKS, account_id)
            )
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise _busy("another write to this account is taking too long") from exc
            raise

    @contextmanager
    def reading(self, *, primary: bool = False) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for the whole block.

        SQLite's read transactions are snapshots; PostgreSQL's default (read
        committed) takes a new one per statement, which let a page's end and
        its sessions disagree while sessions were being added.
        """
        with self._snapshot(self.engine if primary else self.read_engine()) as conn:
            yield conn

    @contextmanager
    def reading_one_statement(self) -> Iterator[Connection]:
        """A read of one statement, which is a snapshot on its own: on PostgreSQL,
        without the transaction's BEGIN and COMMIT round trips (a conditional
        GET's check: 530 to 310-380 us). The engine is ``read_engine()``'s."""
        with self._one_statement(self.read_engine()) as conn:
            yield conn

    def read_engine(self) -> Engine:
        """The engine a read goes to: the request's pinned one, else a replica fresh
        enough, else the primary. May ask a replica its state (once a second)."""
        return pinned.get() or self.replicas.choose() or self.engine

    @contextmanager
    def checking_keys(self) -> Iterator[Connection]:
        """A read of one statement on the primary through the key pool
        (``Limits.key_pool_size``): every request's first, so without BEGIN and
        COMMIT on PostgreSQL (a key check in process: 0.50 to 0.41 ms, median of 500)."""
        with self._one_statement(self.key_engine) as conn:
            yield conn

    @contextmanager
    def _one_statement(self, engine: Engine) -> Iterator[Connection]:
        if engine.dialect.name != "postgresql":
            with self._snapshot(engine) as conn:
                yield conn
            return
        with engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def _snapshot(self, engine: Engine) -> Iterator[Connection]:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.key_engine.dispose()
        self.engine.dispose()
        for engine in self.replica_engines:
            engine.dispose()
