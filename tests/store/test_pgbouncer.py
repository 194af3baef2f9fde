"""sharelog through PgBouncer in transaction mode (docs/pgbouncer.md).

A PgBouncer of our own on a loopback port in front of the test PostgreSQL:
migrations, imports, events from several threads at once (the account lock
is transaction-level), usage paged and streamed, and the change feed's long
poll, which falls back to polling because LISTEN cannot work there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database
from tests.conftest import IN_CI, Api, _truncate_all, make_tenant, session_body
from tests.servers import free_port

pytestmark = pytest.mark.slow

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@pytest.fixture
def pgbouncer(postgres_url: str) -> Iterator[str]:
    """The test database's URL through a PgBouncer in transaction mode."""
    if not os.path.exists(PGBOUNCER):
        reason = "pgbouncer is not installed (make pgbouncer installs it)"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    direct = make_url(postgres_url)
    port = free_port()
    # Readable by the user PgBouncer runs as (it refuses to run as root).
    folder = Path(tempfile.mkdtemp(prefix="sharelog-pgbouncer-"))
    folder.chmod(0o755)
    (folder / "users.txt").write_text(f'"{direct.username}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={direct.host} port={direct.port or 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 100
ignore_startup_parameters = options
"""
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    log = (folder / "pgbouncer.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"pgbouncer did not start: {(folder / 'pgbouncer.log').read_text()}"
                    )
                time.sleep(0.1)
        yield direct.set(port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def direct(postgres_url: str) -> Iterator[Database]:
    """The test PostgreSQL reached directly, emptied."""
    database = Database(postgres_url)
    _truncate_all(database)
    yield database
    database.dispose()


def _probed(client: TestClient) -> bool | None:
    """What the change feed's listener found out about LISTEN (it takes up to a second)."""
    waiter = client.app.state.change_waiter  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while waiter.listen_works is None and time.monotonic() < deadline:
        time.sleep(0.1)
    works: bool | None = waiter.listen_works
    return works


def _at(minute: int) -> str:
    return f"2026-11-02T10:{minute:02d}:00Z"


def test_usage_and_ingestion_run_through_pgbouncer_in_transaction_mode(
    pgbouncer: str, direct: Database
) -> None:
    through = Database(pgbouncer)
    try:
        # The migration's lock is transaction-level: none is left behind.
        migrate.upgrade(through.engine)
        with direct.engine.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
            assert left.scalar() == 0
        tenant = make_tenant(through, "bounced")
        settings = Settings(database_url=pgbouncer)
        with TestClient(create_app(settings, database=through)) as client:
            api = Api(client, tenant)
            api.import_sessions(*(session_body(f"s-{m:02d}", start=_at(m)) for m in range(30)))

            def send_events(worker: int) -> None:
                for n in range(10):
                    events = [
                        {
                            "id": f"e-{worker}-{n}",
                            "type": "viewer.joined",
                            "session": "s-00",
                            "at": _at(1),
                            "viewer": f"v-{worker}-{n}",
                        }
                    ]
                    response = api.post("/ss/api/events", json={"events": events})
                    assert response.status_code == 200, response.text

            threads = [threading.Thread(target=send_events, args=(w,)) for w in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            # More than one statement a run: psycopg would have prepared them by now.
            seen: list[str] = []
            cursor = None
            while True:
                params: dict[str, object] = {"from": "2026-11-01", "to": "2026-11-03", "limit": 7}
                if cursor:
                    params["cursor"] = cursor
                page = api.usage(**params)
                seen += [s["id"] for s in page["sessions"]]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert seen == [f"s-{m:02d}" for m in range(30)]
            whole = api.usage(**{"from": "2026-11-01", "to": "2026-11-03"})
            assert whole["stats"]["total"]["meetings"] == 30
            assert whole["sessions"][0]["viewers"]["count"] == 40
            csv = api.get("/ss/api/usage", params={"from": "2026-11-01", "format": "csv"})
            assert csv.status_code == 200 and len(csv.text.splitlines()) == 31

            # The long poll still wakes on a write, by polling: LISTEN gets nothing here.
            head = api.get("/ss/api/changes").json()["next"]
            waited = threading.Thread(
                target=lambda: (time.sleep(0.5), api.import_sessions(session_body("late")))
            )
            waited.start()
            started = time.monotonic()
            woken = api.get("/ss/api/changes", params={"since": head, "wait": 20})
            waited.join()
            assert woken.status_code == 200
            assert [c["id"] for c in woken.json()["changes"]] == ["late"]
            assert time.monotonic() - started < 10
            assert _probed(client) is False
    finally:
        through.dispose()


def test_listen_is_used_when_postgres_is_reached_directly(
    direct: Database, postgres_url: str
) -> None:
    tenant = make_tenant(direct, "direct")
    with TestClient(create_app(Settings(database_url=postgres_url), database=direct)) as client:
        api = Api(client, tenant)
        head = api.get("/ss/api/changes").json()["next"]
        assert api.get("/ss/api/changes", params={"since": head, "wait": 0.5}).status_code == 200
        assert _probed(client) is True
