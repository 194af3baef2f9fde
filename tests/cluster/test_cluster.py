"""The deployment of ``make cluster``, driven for real: replica reads, shared rate
limits through HAProxy, and a failover under writers (last: it ends the standby).

Run by ``make test-cluster`` (``-m cluster``); the normal suite leaves them out.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from sharelog.store.replicas import parse_position
from tests.cluster.conftest import MAX_LAG_S, RATE_LIMIT, Cluster

pytestmark = pytest.mark.cluster

WINDOW = {"from": "2026-11-01", "to": "2026-11-03"}


def _session(sid: str) -> dict[str, Any]:
    return {"sessions": [{"id": sid, "agent": "a@example.com", "start": "2026-11-02T10:00:00Z"}]}


def _replayed(standby: Engine, position: str) -> bool:
    with standby.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"), {"p": position}
            ).scalar()
        )


def _until(what: str, seconds: float, check: Any) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"no {what} in {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_reads_go_to_the_standby_while_it_keeps_up_and_positions_are_honoured(
    cluster: Cluster,
) -> None:
    _, read, write = cluster.keys("replica-reads")
    reader = {"Authorization": f"Basic {read}"}
    writer = {"Authorization": f"Basic {write}"}
    standby = cluster.node("STANDBY_PORT")
    calls = 2 * len(cluster.api_urls())  # round robin: every process twice
    with httpx.Client(base_url=cluster.url, timeout=10) as http:
        first = http.post("/ss/api/sessions", json=_session("s-1"), headers=writer)
        assert first.status_code == 200
        _until("replay of s-1", 10, lambda: _replayed(standby, first.headers["Sharelog-Position"]))
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            second = http.post("/ss/api/sessions", json=_session("s-2"), headers=writer)
            position = second.headers["Sharelog-Position"]
            assert parse_position(position) > parse_position(first.headers["Sharelog-Position"])
            # Within the lag bound every process reads the standby, which has not s-2.
            stale = [
                http.get("/ss/api/sessions/s-2", headers=reader).status_code for _ in range(calls)
            ]
            assert stale == [404] * calls
            listed = http.get("/ss/api/usage", params=WINDOW, headers=reader).json()["sessions"]
            assert [s["id"] for s in listed] == ["s-1"]
            stale_feed = http.get("/ss/api/changes", headers=reader).json()["changes"]
            assert [c["id"] for c in stale_feed] == ["s-1"]
            # Read-your-writes: with the write's position, the primary answers.
            after = {**reader, "Sharelog-Min-Position": position}
            fresh = [
                http.get("/ss/api/sessions/s-2", headers=after).status_code for _ in range(calls)
            ]
            assert fresh == [200] * calls
            listed = http.get("/ss/api/usage", params=WINDOW, headers=after).json()["sessions"]
            assert [s["id"] for s in listed] == ["s-1", "s-2"]
            changed = http.get("/ss/api/changes", headers=after).json()["changes"]
            assert [c["id"] for c in changed] == ["s-1", "s-2"]
            # Past the lag bound the standby is left out, for every read.
            waited = _until(
                "reads leaving the lagging standby",
                MAX_LAG_S + 10,
                lambda: all(
                    http.get("/ss/api/sessions/s-2", headers=reader).status_code == 200
                    for _ in range(calls)
                ),
            )
            assert waited > 0.5  # it was the lag that moved them, not something at once
        finally:
            with standby.connect() as conn:
                conn.execute(text("SELECT pg_wal_replay_resume()"))
        _until("replay after resume", 10, lambda: _replayed(standby, position))
    standby.dispose()


def test_a_keys_limit_holds_across_the_processes_behind_the_balancer(cluster: Cluster) -> None:
    _, read, _ = cluster.keys("rate-limit")
    headers = {"Authorization": f"Basic {read}"}
    statuses: list[int] = []
    lock = threading.Lock()
    started = time.monotonic()

    def hammer(_: int) -> None:
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=10) as http:
            while True:
                elapsed = time.monotonic() - started
                with lock:
                    refused = statuses.count(429)
                if elapsed > 30 or (elapsed > 3 and refused >= 200):
                    return
                status = http.get("/ss/api/sessions/none").status_code
                with lock:
                    statuses.append(status)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(hammer, range(6)))
    elapsed = time.monotonic() - started
    assert set(statuses) <= {404, 429}
    allowed = statuses.count(404)  # through the limit (then no such session)
    # A bucket of RATE_LIMIT, refilled at RATE_LIMIT a minute.
    expected = RATE_LIMIT + RATE_LIMIT / 60 * elapsed
    assert abs(allowed - expected) <= 0.1 * expected, (allowed, expected, len(statuses))
    # Every process refused some: the limit was shared, not one process's.
    for url in cluster.api_urls():
        metrics = httpx.get(f"{url}/metrics").text
        assert 'route="/ss/api/sessions/{session_id}",status="429"' in metrics, url


def test_failover_under_writers_loses_no_acknowledged_write(cluster: Cluster) -> None:
    writers = 4
    accounts = [cluster.keys(f"failover-{n}") for n in range(writers)]
    results: list[list[tuple[float, int, str]]] = [[] for _ in range(writers)]
    stop = threading.Event()
    bodies: list[dict[str, Any]] = []

    def write(n: int) -> None:
        headers = {"Authorization": f"Basic {accounts[n][2]}"}
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=30) as http:
            i = 0
            while not stop.is_set():
                sid = f"w{n}-{i}"
                i += 1
                answer = http.post("/ss/api/sessions", json=_session(sid))
                results[n].append((time.monotonic(), answer.status_code, sid))
                if answer.status_code != 200:
                    bodies.append(answer.json())
                time.sleep(0.05)  # under the rate limit: only the failover may refuse

    with ThreadPoolExecutor(writers) as pool:
        running = [pool.submit(write, n) for n in range(writers)]
        time.sleep(3)
        killed = time.monotonic()
        cluster.run("failover")

        def all_writing_again() -> bool:
            return all(any(t > killed and s == 200 for t, s, _ in r[-3:]) for r in results)

        _until("writes after the failover", 30, all_writing_again)
        time.sleep(1)
        stop.set()
        for future in running:
            future.result()
    recovery = max(min(t for t, s, _ in r if t > killed and s == 200) - killed for r in results)
    every = [entry for r in results for entry in r]
    assert {s for _, s, _ in every} <= {200, 503}, {s for _, s, _ in every}
    assert all(b["error"]["code"] == "unavailable" for b in bodies)
    acknowledged = {(n, sid) for n, r in enumerate(results) for _, s, sid in r if s == 200}
    new_primary = cluster.node("STANDBY_PORT")
    with new_primary.connect() as conn:
        stored = {
            (n, sid)
            for n, (account_id, _, _) in enumerate(accounts)
            for sid in conn.execute(
                text("SELECT id FROM sessions WHERE account_id = :a"), {"a": account_id}
            ).scalars()
        }
    new_primary.dispose()
    lost = acknowledged - stored
    print(
        f"\nfailover: writes again after {recovery:.2f} s; {len(acknowledged)} acknowledged, "
        f"{len(lost)} lost, {len(every) - len(acknowledged)} answered 503"
    )
    assert lost == set()
    assert recovery < 15
    assert len(acknowledged) > 50  # the writers really wrote, before and after
