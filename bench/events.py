"""Event ingestion throughput: HTTP against a real server, beside a raw-insert baseline.

    python -m bench.events [--events 200000] [--batch 1000] [--backend sqlite|postgresql|both]
                           [--repeat 3]

The baseline inserts the same event rows with the driver's executemany, in
batches of the same size, each committed with the same durability (SQLite:
WAL with synchronous=FULL) as the server's. The target of issue 3 is HTTP
ingestion at 25% or more of the baseline's rate.

The clients post with the standard library's ``http.client`` on a kept-alive
connection: one client waits for each answer before it sends the next batch,
so the client's own time per request is on the measured path, and httpx's
took about 1.6 ms of CPU a batch against 0.55 (docs/performance.md). One more
run with httpx (what ``sharelog.client`` uses) shows what that costs.
"""

from __future__ import annotations

import argparse
import http.client
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from bench._common import Timer, fresh_database, make_keys, postgres_available, row, running_server

BASE = 1_793_606_400  # 2026-11-02T08:00:00Z


def make_events(count: int) -> list[dict[str, Any]]:
    """Ten events a session: start, two shares, three viewers joining and leaving, end."""
    events: list[dict[str, Any]] = []
    n = 0
    while len(events) < count:
        sid = f"s-{n}"
        at = BASE + n * 60
        events += [
            {"type": "session.started", "at": at, "agent": f"agent{n % 50}@example.com"},
            {
                "type": "share.started",
                "at": at + 2,
                "share_type": "screen",
                "title": "Entire screen",
            },
            {
                "type": "share.started",
                "at": at + 300,
                "share_type": "tab",
                "title": "Pricing",
                "url": "https://example.com/pricing",
            },
            *(
                {
                    "type": "viewer.joined",
                    "at": at + 10 + v,
                    "viewer": f"v-{v}",
                    "location": {"country": "IS"},
                }
                for v in range(3)
            ),
            *({"type": "viewer.left", "at": at + 1500 + v, "viewer": f"v-{v}"} for v in range(3)),
            {"type": "session.ended", "at": at + 1800},
        ]
        for i in range(len(events) - 10, len(events)):
            events[i] = {"id": f"e-{i}", "session": sid, **events[i]}
        n += 1
    return events[:count]


def baseline_sqlite(events: list[dict[str, Any]], batch: int, path: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE events (account_id INTEGER, id TEXT, session TEXT, type TEXT, at INTEGER, body TEXT, PRIMARY KEY (account_id, id))"
    )
    rows = [
        (1, e["id"], e["session"], e["type"], e["at"], orjson.dumps(e).decode()) for e in events
    ]
    with Timer() as t:
        for i in range(0, len(rows), batch):
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows[i : i + batch])
            conn.execute("COMMIT")
    conn.close()
    return t.seconds


def baseline_postgres(events: list[dict[str, Any]], batch: int, url: str) -> float:
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "CREATE TABLE bench_events (account_id INTEGER, id TEXT, session TEXT, type TEXT, at BIGINT, body TEXT, PRIMARY KEY (account_id, id))"
        )
        conn.commit()
        rows = [
            (1, e["id"], e["session"], e["type"], e["at"], orjson.dumps(e).decode()) for e in events
        ]
        with Timer() as t, conn.cursor() as cur:
            for i in range(0, len(rows), batch):
                cur.executemany(
                    "INSERT INTO bench_events VALUES (%s, %s, %s, %s, %s, %s)", rows[i : i + batch]
                )
                conn.commit()
    return t.seconds


def post_all(
    base: str,
    key: str,
    events: list[dict[str, Any]],
    batch: int,
    clients: int,
    client: str = "http.client",
) -> float:
    """Post every batch, from ``clients`` threads at once (each with its own
    connection, through ``client``: http.client or httpx); the seconds it took."""
    bodies = [orjson.dumps({"events": events[i : i + batch]}) for i in range(0, len(events), batch)]
    headers = {"Authorization": f"Basic {key}", "Content-Type": "application/json"}
    send = _send_httpx if client == "httpx" else _send_http_client

    with ThreadPoolExecutor(clients) as pool, Timer() as t:
        list(pool.map(partial(send, base, headers), [bodies[i::clients] for i in range(clients)]))
    return t.seconds


def _send_http_client(base: str, headers: dict[str, str], bodies: list[bytes]) -> None:
    where = urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=120)
    try:
        for body in bodies:
            try:
                status, answer = _post(connection, body, headers)
            except (http.client.RemoteDisconnected, ConnectionError):
                # A kept-alive connection that the server (or a balancer) closed:
                # events are idempotent by id, so the batch goes again, reconnected.
                connection.close()
                status, answer = _post(connection, body, headers)
            if status != 200:
                raise SystemExit(f"POST /ss/api/events: {status} {answer[:500]!r}")
    finally:
        connection.close()


def _post(
    connection: http.client.HTTPConnection, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    connection.request("POST", "/ss/api/events", body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read()


def _send_httpx(base: str, headers: dict[str, str], bodies: list[bytes]) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for body in bodies:
            http.post("/ss/api/events", content=body).raise_for_status()


def run_backend(backend: str, events: list[dict[str, Any]], batch: int, repeat: int) -> None:
    """Each figure is the best of ``repeat`` runs, each on a fresh database: on a
    shared machine the best run is the one least disturbed by everything else."""

    def baseline() -> float:
        with fresh_database(backend) as url:
            if backend == "sqlite":
                return baseline_sqlite(events, batch, url.removeprefix("sqlite:///") + ".baseline")
            return baseline_postgres(events, batch, url)

    def served(clients: int, workers: int, client: str = "http.client") -> float:
        with fresh_database(backend) as url:
            _, _, write_key = make_keys(url)
            with running_server(url, "--workers", str(workers)) as (base, _process):
                return post_all(base, write_key, events, batch, clients, client)

    runs: dict[str, Callable[[], float]] = {
        "baseline": baseline,
        "1 client, 1 worker": lambda: served(1, 1),
        "2 clients, 1 worker": lambda: served(2, 1),
        "2 clients, 2 workers": lambda: served(2, 2),
        "1 client, 1 worker, httpx": lambda: served(1, 1, "httpx"),
    }
    # Interleaved, so that a noisy minute does not fall on one figure only.
    best = {name: float("inf") for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            best[name] = min(best[name], run())
    base_rate = len(events) / best.pop("baseline")
    print(f"{backend}: {len(events):,} events in batches of {batch}, best of {repeat} runs")
    print(
        row(
            "baseline: driver executemany, same batches",
            len(events),
            len(events) / base_rate,
            "events",
        )
    )
    for name, seconds in best.items():
        print(row(f"sharelog over HTTP, {name}", len(events), seconds, "events", base_rate))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    events = make_events(args.events)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("postgresql: skipped, no server answers")
            continue
        run_backend(backend, events, args.batch, args.repeat)


if __name__ == "__main__":
    main()
