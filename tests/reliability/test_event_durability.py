"""What was acknowledged is never lost: SIGKILL the server mid-stream, restart, find every event."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from sharelog.store.database import Database
from tests.conftest import make_tenant
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow
BASE = 1_793_606_400  # 2026-11-02T08:00:00Z


def test_every_acknowledged_event_survives_sigkill(db: Database) -> None:
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
                sessions = [f"c{n}-b{batch}-{i}" for i in range(20)]
                events = [
                    {
                        "id": f"start-{sid}",
                        "type": "session.started",
                        "session": sid,
                        "at": BASE + batch,
                        "agent": f"agent{n}@example.com",
                    }
                    for sid in sessions
                ]
                try:
                    response = http.post("/ss/api/events", json={"events": events})
                except httpx.HTTPError:
                    return  # the server is gone: whatever was not acknowledged may be lost
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(sessions)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acknowledged) > 100, "too few posts were acknowledged for the test to mean anything"

    restarted = ServerProcess(db.url)
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
