"""Faults: the database going away, a read-only or full disk, several workers, SIGKILL."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, make_url
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store.database import Database
from tests.conftest import Api, Tenant, make_tenant, session_body
from tests.reliability.proxy import Relay
from tests.servers import ServerProcess, free_port

pytestmark = pytest.mark.slow


def test_a_database_that_does_not_answer_gives_503_and_recovers(postgres_url: str) -> None:
    setup = Database(postgres_url)
    tenant = make_tenant(setup, f"outage-{time.monotonic_ns()}")
    setup.dispose()
    url = make_url(postgres_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.start()
    through_relay = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    db = Database(through_relay)
    with TestClient(create_app(Settings(database_url=through_relay), database=db)) as client:
        api = Api(client, tenant)
        assert client.get("/readyz").status_code == 200
        assert api.get("/ss/api/usage").status_code == 200
        relay.stop()
        down = api.get("/ss/api/usage")
        assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
        assert client.get("/readyz").status_code == 503
        assert api.post("/ss/api/sessions", json=session_body()).status_code == 503
        assert client.get("/healthz").status_code == 200
        relay.start()  # the same port again
        assert client.get("/readyz").status_code == 200
        assert api.post("/ss/api/sessions", json=session_body()).status_code == 200
        assert api.get("/ss/api/sessions/s-1").status_code == 200
    db.dispose()
    relay.stop()


def test_a_wrong_database_address_is_503_not_500(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert client.get("/readyz").status_code == 503
        response = client.get("/ss/api/usage", headers={"Authorization": "Basic slk_x"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable"


def _integrity(path: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_a_full_disk_gives_503_and_keeps_the_database_whole(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    with TestClient(create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)) as client:
        Api(client, tenant_on_sqlite).import_sessions(session_body("before"))
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    full = Database(sqlite_db.url)

    @event.listens_for(full.engine, "connect")
    def _no_room(dbapi_conn: Any, _: Any) -> None:
        # What a full disk looks like to SQLite: no page can be added.
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    with TestClient(create_app(Settings(database_url=sqlite_db.url), database=full)) as client:
        api = Api(client, tenant_on_sqlite)
        big = [
            session_body(
                f"s{i}", shares=[{"at": "2026-11-02", "type": "tab", "title": "x" * 900}] * 50
            )
            for i in range(40)
        ]
        refused = api.post("/ss/api/sessions", json={"sessions": big})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "unavailable"
        assert [
            s["id"] for s in api.usage(**{"from": "2026-11-01", "to": "2026-11-03"})["sessions"]
        ] == ["before"]
    full.dispose()
    sqlite_db.dispose()
    assert _integrity(path) == "ok"


def test_a_read_only_database_gives_503_on_writes_and_still_reads(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    path = Path(sqlite_db.url.removeprefix("sqlite:///"))
    with TestClient(create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)) as client:
        Api(client, tenant_on_sqlite).import_sessions(session_body("before"))
    sqlite_db.dispose()
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    with TestClient(create_app(Settings(database_url=read_only))) as client:
        api = Api(client, tenant_on_sqlite)
        assert api.get("/ss/api/sessions/before").status_code == 200
        refused = api.post("/ss/api/sessions", json=session_body("after"))
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable"
    assert _integrity(path) == "ok"


def test_a_revocation_takes_effect_at_once_in_every_worker(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "workers.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    db = Database(url)
    tenant = make_tenant(db, "acme")
    db.dispose()
    server = ServerProcess(url, "--workers", "2")
    try:
        headers = {"Authorization": f"Basic {tenant.read_key}"}
        with httpx.Client(base_url=server.url, headers=headers) as http:
            assert {http.get("/ss/api/usage").status_code for _ in range(20)} == {200}
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sharelog",
                    "keys",
                    "revoke",
                    tenant.read_key[:12],
                    "--database-url",
                    url,
                ],
                check=True,
                capture_output=True,
            )
            # Fresh connections spread over both workers; every one refuses at once.
            statuses = set()
            for _ in range(20):
                with httpx.Client(base_url=server.url, headers=headers) as fresh:
                    statuses.add(fresh.get("/ss/api/usage").status_code)
            assert statuses == {401}
    finally:
        server.stop()


def _session_posts(ids: list[str]) -> tuple[str, dict[str, Any]]:
    return "/ss/api/sessions", {
        "sessions": [session_body(sid, start="2026-11-02T10:00:00Z") for sid in ids]
    }


def _event_posts(ids: list[str]) -> tuple[str, dict[str, Any]]:
    events = [
        {
            "id": f"start-{sid}",
            "type": "session.started",
            "session": sid,
            "at": "2026-11-02T10:00:00Z",
            "agent": "a@example.com",
        }
        for sid in ids
    ]
    return "/ss/api/events", {"events": events}


@pytest.mark.parametrize("posts", [_session_posts, _event_posts], ids=["sessions", "events"])
def test_every_acknowledged_write_survives_sigkill(db: Database, posts: Any) -> None:
    """Several clients post; the server is SIGKILLed mid-stream; every acknowledged session is there."""
    tenant = make_tenant(db, "durable")
    server = ServerProcess(db.url)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        headers = {"Authorization": f"Basic {tenant.write_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=5) as http:
            for batch in range(10_000):
                if stop.is_set():
                    return
                ids = [f"c{n}-b{batch}-{i}" for i in range(20)]
                path, body = posts(ids)
                try:
                    response = http.post(path, json=body)
                except httpx.HTTPError:
                    return  # the server is gone: what was not acknowledged may be lost
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(ids)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) > 100, "too few posts were acknowledged for the test to mean anything"
    restarted = ServerProcess(db.url)  # and the server comes back on the same data
    try:
        response = httpx.get(
            f"{restarted.url}/ss/api/usage",
            params={"from": "2026-11-01", "to": "2026-11-30", "include": "sessions"},
            headers={"Authorization": f"Basic {tenant.read_key}"},
            timeout=60,
        )
        assert response.status_code == 200
        stored = {s["id"] for s in response.json()["sessions"]}
    finally:
        restarted.stop()
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged sessions lost, e.g. {sorted(missing)[:5]}"


def read_answer(conn: socket.socket) -> bytes:
    """A whole small HTTP answer: headers and a body that ends the JSON."""
    answer = b""
    while not answer.rstrip().endswith(b"}"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def test_a_body_that_never_finishes_is_cut_off(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "slow.db"
    shutil.copy(sqlite_template, path)
    server = ServerProcess(f"sqlite:///{path}", env={"SHARELOG_BODY_TIMEOUT_SECONDS": "1"})
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(
                b"POST /ss/api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic slk_x\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"sessions"'
            )
            began = time.monotonic()
            answer = read_answer(conn)
        # Unauthenticated, so refused at once; an authenticated slow body is cut at the timeout.
        assert answer.startswith(b"HTTP/1.1 4")
        assert time.monotonic() - began < 5
        db = Database(f"sqlite:///{path}")
        tenant = make_tenant(db, "slow")
        db.dispose()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(
                b"POST /ss/api/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                + tenant.write_key.encode()
                + b'\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"sessions"'
            )
            began = time.monotonic()
            answer = read_answer(conn)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"did not arrive" in answer
        assert 0.5 < time.monotonic() - began < 5
    finally:
        server.stop()


def test_a_long_streamed_answer_is_not_cut_by_the_body_timeout(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The body deadline covers reading the request only, not a slow reader of a long stream."""
    from sharelog.domain import SessionIn
    from sharelog.store import sessions as session_store

    path = tmp_path / "stream.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    tenant = make_tenant(db, "stream")
    base = 1_793_577_600_000_000  # 2026-11-02T00:00:00Z
    with db.writing() as conn:
        batch = [
            SessionIn(
                f"s{i:06d}",
                "a@example.com",
                base + i * 1_000_000,
                base + i * 1_000_000 + 60_000_000,
            )
            for i in range(60_000)
        ]
        session_store.import_sessions(conn, tenant.account_id, batch, 0)
    db.dispose()
    server = ServerProcess(f"sqlite:///{path}", env={"SHARELOG_BODY_TIMEOUT_SECONDS": "1"})
    try:
        params = {"from": "2026-11-01", "to": "2026-11-10", "include": "sessions"}
        headers = {"Authorization": f"Basic {tenant.read_key}"}
        with httpx.stream(
            "GET", f"{server.url}/ss/api/usage", params=params, headers=headers, timeout=60
        ) as response:
            chunks = response.iter_bytes()
            received = [next(chunks)]
            time.sleep(2.5)  # a slow reader: the server waits on a full socket
            received += list(chunks)
        document = json.loads(b"".join(received))
        assert len(document["sessions"]) == 60_000
    finally:
        server.stop()
