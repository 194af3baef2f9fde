"""Every wait ends: for a pooled connection, for a writer's lock, for a statement.

A wait that runs out is a 503 ``unavailable`` with ``Retry-After``, never a 500
and never a request hanging on; and a busy main pool never stops key checks.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from threading import Thread

import httpx
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.errors import Unavailable
from sharelog.store.database import _ACCOUNT_LOCKS, Database
from tests.conftest import Api, Tenant, make_tenant, session_body

pytestmark = pytest.mark.slow


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.fixture
def busy_db(db_url: str, db: Database) -> Iterator[tuple[Database, Settings]]:
    """A database of one pooled connection (PostgreSQL) that gives up waiting after 1 s."""
    settings = Settings(
        database_url=db_url,
        pool_size=1,
        pool_timeout_seconds=1,
        sqlite_busy_timeout_ms=500,
        lock_timeout_ms=500,
    )
    database = Database(db_url, limits=settings.database_limits())
    yield database, settings
    database.dispose()


@contextmanager
def _whole_pool_taken(database: Database) -> Iterator[None]:
    """Check out every connection the main pool will ever give."""
    pool = database.engine.pool
    size = pool.size() + getattr(pool, "_max_overflow", 0)
    with ExitStack() as stack:
        for _ in range(size):
            stack.enter_context(database.engine.connect())
        yield


def test_an_exhausted_pool_is_503_with_retry_after_and_keys_are_still_checked(
    busy_db: tuple[Database, Settings], tenant: Tenant
) -> None:
    database, settings = busy_db
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as c:
        api = Api(c, tenant)
        assert api.get("/ss/api/usage").status_code == 200
        with _whole_pool_taken(database):
            started = time.monotonic()
            _unavailable(api.get("/ss/api/usage"))
            _unavailable(api.post("/ss/api/sessions", json=session_body()))
            assert time.monotonic() - started < 10
            # The key pool is another pool: a bad key is still told so at once.
            bad = c.get("/ss/api/usage", headers={"Authorization": "Basic slk_nonsense"})
            assert bad.status_code == 401
        assert api.get("/ss/api/usage").status_code == 200


def test_postgres_connections_carry_the_statement_and_idle_timeouts(postgres_url: str) -> None:
    settings = Settings(
        database_url=postgres_url, statement_timeout_ms=1234, idle_in_transaction_timeout_ms=5678
    )
    database = Database(postgres_url, limits=settings.database_limits())
    try:
        for engine in (database.engine, database.key_engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1234ms"
                assert (
                    conn.exec_driver_sql("SHOW idle_in_transaction_session_timeout").scalar()
                    == "5678ms"
                )
        with pytest.raises(OperationalError) as raised, database.reading() as conn:
            conn.execute(text("SELECT pg_sleep(3)"))
        assert getattr(raised.value.orig, "sqlstate", None) == "57014"  # query_canceled
    finally:
        database.dispose()


def test_the_main_pool_has_no_overflow(postgres_url: str) -> None:
    database = Database(postgres_url, limits=Settings(pool_size=3).database_limits())
    try:
        assert database.engine.pool.size() == 3
        assert getattr(database.engine.pool, "_max_overflow", None) == 0
        assert database.key_engine.pool.size() == 2
        assert getattr(database.key_engine.pool, "_max_overflow", None) == 0
    finally:
        database.dispose()


def _hold_account_lock(conn: Connection, account_id: int) -> None:
    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (_ACCOUNT_LOCKS, account_id))


def test_a_postgres_write_waits_for_its_account_lock_only_lock_timeout_ms(
    busy_db: tuple[Database, Settings], tenant: Tenant, other_tenant: Tenant
) -> None:
    database, settings = busy_db
    if database.backend != "postgresql":
        pytest.skip("the account lock is PostgreSQL's")
    with TestClient(create_app(settings, database=database), raise_server_exceptions=False) as c:
        api = Api(c, tenant)
        holder = Database(database.url)  # another process's connection, as it were
        try:
            with holder.engine.connect() as conn, conn.begin():
                _hold_account_lock(conn, tenant.account_id)
                started = time.monotonic()
                _unavailable(api.post("/ss/api/sessions", json=session_body()))
                assert time.monotonic() - started < 5
                # Other accounts write on.
                other = Api(c, other_tenant)
                assert other.post("/ss/api/sessions", json=session_body()).status_code == 200
            assert api.post("/ss/api/sessions", json=session_body()).status_code == 200
        finally:
            holder.dispose()


def test_the_sqlite_writer_lock_of_another_process_is_waited_for_only_the_busy_timeout(
    busy_db: tuple[Database, Settings], tenant: Tenant, tmp_path: Path
) -> None:
    database, settings = busy_db
    if database.backend != "sqlite":
        pytest.skip("the writer lock is SQLite's")
    assert database.engine.url.database
    lock_file = database.engine.url.database + "-writer.lock"
    # Another process takes the writer lock and keeps it for 20 s.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({lock_file!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "time.sleep(20)\n",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with TestClient(
            create_app(settings, database=database), raise_server_exceptions=False
        ) as c:
            api = Api(c, tenant)
            started = time.monotonic()
            _unavailable(api.post("/ss/api/sessions", json=session_body()))
            assert time.monotonic() - started < 5
            assert api.get("/ss/api/usage").status_code == 200  # reads go on
            holder.kill()
            holder.wait()
            assert api.post("/ss/api/sessions", json=session_body()).status_code == 200
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_the_sqlite_writer_lock_of_another_thread_is_waited_for_only_the_busy_timeout(
    sqlite_db: Database,
) -> None:
    database = Database(
        sqlite_db.url, limits=Settings(sqlite_busy_timeout_ms=300).database_limits()
    )
    try:
        make_tenant(database, "first")
        with database.writing():
            started = time.monotonic()
            # Same process: the thread lock is what waits.
            outcome: list[BaseException | None] = []

            def write() -> None:
                try:
                    with database.writing():
                        outcome.append(None)
                except BaseException as exc:
                    outcome.append(exc)

            thread = Thread(target=write)
            thread.start()
            thread.join(10)
            assert isinstance(outcome[0], Unavailable)
            assert 0.25 < time.monotonic() - started < 5
        with database.writing():  # and the lock is free again
            pass
    finally:
        database.dispose()
