"""``sharelog serve --workers N``: several processes on one port, each with its background tasks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sharelog.store.database import Database
from tests.conftest import make_tenant, session_body
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

WAITERS = 6


def test_every_worker_wakes_its_long_polls_on_a_write_made_in_another(postgres_url: str) -> None:
    """Each worker runs its own change waiter (a background task): a commit served by
    any worker wakes the long polls held by all of them, long before their timeout."""
    db = Database(postgres_url)
    tenant = make_tenant(db, f"workers-{time.monotonic_ns()}")
    db.dispose()
    server = ServerProcess(postgres_url, "--workers", "2")
    try:
        read = {"Authorization": f"Basic {tenant.read_key}"}
        write = {"Authorization": f"Basic {tenant.write_key}"}
        with httpx.Client(base_url=server.url, headers=read) as http:
            since = http.get("/ss/api/changes").json()["next"]

        def poll(_: int) -> tuple[float, list[str], int]:
            # A connection each: uvicorn's workers share the socket, so these spread.
            with httpx.Client(base_url=server.url, headers=read, timeout=30) as fresh:
                started = time.monotonic()
                page = fresh.get("/ss/api/changes", params={"since": since, "wait": "20"})
                ids = [c.get("id") for c in page.json()["changes"]]
                return time.monotonic() - started, ids, page.status_code

        with ThreadPoolExecutor(WAITERS) as pool:
            polls = [pool.submit(poll, n) for n in range(WAITERS)]
            time.sleep(2)  # every poll is waiting by now
            assert not any(p.done() for p in polls)
            answer = httpx.post(
                f"{server.url}/ss/api/sessions",
                json={"sessions": [session_body("woke")]},
                headers=write,
            )
            assert answer.status_code == 200
            results = [p.result(timeout=30) for p in polls]
        for seconds, ids, status in results:
            assert status == 200
            assert ids == ["woke"]
            assert seconds < 10  # woken, not timed out at 20
        pids = server.worker_pids()
        assert len(pids) == 2, pids
    finally:
        server.stop()
