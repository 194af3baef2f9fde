"""SIGKILL a real `sharelog serve` again and again while events stream in: after a
restart, every session.ended the API acknowledged has been delivered."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from sharelog.store import migrate
from sharelog.store.database import Database
from tests.conftest import make_tenant
from tests.servers import ServerProcess
from tests.webhooks.receiver import receiver
from tests.webhooks.test_outbox import endpoint

SECRET = "whsec_" + "A" * 43 + "="
ROUNDS = 2


def stream(url: str, key: str, prefix: str, acknowledged: list[str], stop: threading.Event) -> None:
    """Sessions started and ended, a batch at a time, until the server dies."""
    with httpx.Client(timeout=5) as client:
        n = 0
        while not stop.is_set():
            ids = [f"{prefix}-{n + i}" for i in range(5)]
            n += 5
            events = []
            for sid in ids:
                events.append(
                    {
                        "id": f"{sid}-a",
                        "type": "session.started",
                        "session": sid,
                        "at": "2026-11-02T10:00:00Z",
                        "agent": "a@x.io",
                    }
                )
                events.append(
                    {
                        "id": f"{sid}-b",
                        "type": "session.ended",
                        "session": sid,
                        "at": "2026-11-02T10:10:00Z",
                    }
                )
            try:
                response = client.post(
                    f"{url}/ss/api/events",
                    json={"events": events},
                    headers={"Authorization": f"Bearer {key}"},
                )
            except httpx.HTTPError:
                return
            if response.status_code == 200:
                acknowledged.extend(ids)


@pytest.mark.slow
def test_every_acknowledged_end_is_delivered_across_kills(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    tenant = make_tenant(db, "acme")
    receiver = subprocess.Popen(
        [sys.executable, "-m", "tests.webhooks.fast_receiver", SECRET], stdout=subprocess.PIPE
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    endpoint(db, tenant, "ep_crash", ("session.ended",))
    with db.writing() as conn:
        conn.execute(
            text("UPDATE webhook_endpoints SET url = :u"), {"u": f"http://127.0.0.1:{port}/"}
        )
    # The shortest lease: a killed server's claims are free again 20 s later.
    env = {
        "SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true",
        "SHARELOG_LOG_LEVEL": "warning",
        "SHARELOG_WEBHOOK_LEASE_SECONDS": "20",
    }
    acknowledged: list[str] = []
    try:
        for round_ in range(ROUNDS):
            server = ServerProcess(url, env=env)
            stop = threading.Event()
            writer = threading.Thread(
                target=stream, args=(server.url, tenant.write_key, f"r{round_}", acknowledged, stop)
            )
            writer.start()
            time.sleep(1.5)
            server.kill()  # SIGKILL, mid-stream
            stop.set()
            writer.join(timeout=10)
        server = ServerProcess(url, env=env)
        deadline = time.monotonic() + 35
        pending = -1
        while time.monotonic() < deadline and pending != 0:
            time.sleep(0.5)
            with db.reading() as conn:
                pending = conn.execute(
                    text("SELECT count(*) FROM webhook_messages WHERE status <> 'delivered'")
                ).scalar_one()
        server.stop()
    finally:
        receiver.send_signal(signal.SIGTERM)
        summary = json.loads(receiver.stdout.readline())
        receiver.wait(timeout=10)
        db.dispose()
    assert acknowledged, "no write was acknowledged"
    assert pending == 0
    missing = set(acknowledged) - set(summary["ended"])
    assert not missing, sorted(missing)[:10]
    assert summary["unverified"] == 0
    duplicates = summary["received"] - summary["distinct"]
    print(
        f"\n{len(acknowledged)} acknowledged ends over {ROUNDS} SIGKILLs, all delivered; "
        f"{duplicates} duplicate deliveries ({duplicates / summary['distinct']:.1%})"
    )


@pytest.mark.slow
def test_serve_with_no_deliver_sends_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'quiet.db'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    tenant = make_tenant(db, "acme")
    endpoint(db, tenant, "ep_quiet", ("*",))
    env = {"SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true"}
    with receiver() as r:
        with db.writing() as conn:
            conn.execute(text("UPDATE webhook_endpoints SET url = :u"), {"u": r.url + "/q"})
        server = ServerProcess(url, "--no-deliver", env=env)
        try:
            reply = httpx.post(
                f"{server.url}/ss/api/events",
                json={
                    "events": [
                        {
                            "id": "e-1",
                            "type": "session.started",
                            "session": "s-1",
                            "at": "2026-11-02T10:00:00Z",
                            "agent": "a@x.io",
                        }
                    ]
                },
                headers={"Authorization": f"Bearer {tenant.write_key}"},
            )
            assert reply.status_code == 200
            time.sleep(2.0)
            assert r.requests == []
        finally:
            server.stop()
        # The same database with a sender: the waiting message goes out.
        server = ServerProcess(url, env=env)
        try:
            deadline = time.monotonic() + 15
            while len(r.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            server.stop()
        types = sorted(req.json()["type"] for req in r.requests)
        assert types == ["session.started", "session.updated"]
    db.dispose()
