"""Mixed load against a real server: usage reads and event posts at once, on loopback.

    python -m bench.load [--seconds 60] [--workers 2] [--readers 4] [--writers 2] [--backend sqlite]

Readers fetch 28-day usage documents (stats and sessions); writers post
batches of 100 events. It prints, per kind, requests, errors, throughput and
p50/p99 latency; it stops by itself after --seconds.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from typing import Any

import httpx

from bench._common import fresh_database, make_keys, running_server
from bench.usage_data import DAY_US, YEAR_END_US, load
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp

WINDOW = {"from": format_timestamp(YEAR_END_US - 28 * DAY_US), "to": format_timestamp(YEAR_END_US)}


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.lock = threading.Lock()

    def add(self, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.errors += not ok


def reader(base: str, key: str, until: float, tally: Tally) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Basic {key}"}, timeout=60) as http:
        while time.monotonic() < until:
            began = time.perf_counter()
            try:
                ok = http.get("/ss/api/usage", params=WINDOW).status_code == 200
            except httpx.HTTPError:
                ok = False
            tally.add(time.perf_counter() - began, ok)


def writer(base: str, key: str, until: float, tally: Tally, n: int) -> None:
    counter = itertools.count()
    with httpx.Client(base_url=base, headers={"Authorization": f"Basic {key}"}, timeout=60) as http:
        while time.monotonic() < until:
            batch = next(counter)
            events = [
                {
                    "id": f"w{n}-b{batch}-{i}",
                    "type": "session.started" if i % 2 == 0 else "session.ended",
                    "session": f"w{n}-b{batch}-{i // 2}",
                    "at": format_timestamp(YEAR_END_US - DAY_US + (i % 2) * 600_000_000),
                    "agent": "load@example.com",
                }
                for i in range(100)
            ]
            began = time.perf_counter()
            try:
                ok = http.post("/ss/api/events", json={"events": events}).status_code == 200
            except httpx.HTTPError:
                ok = False
            tally.add(time.perf_counter() - began, ok)


def summary(name: str, tally: Tally, seconds: float) -> str:
    lat = sorted(tally.latencies)
    if not lat:
        return f"  {name}: no requests"
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    return (
        f"  {name:<22} {len(lat):>7,} requests  {tally.errors} errors  {len(lat) / seconds:8.1f}/s  "
        f"p50 {statistics.median(lat) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--sessions", type=int, default=100_000, help="history loaded first")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with fresh_database(args.backend) as url:
        account_id, read_key, write_key = make_keys(url)
        db = Database(url)
        load(db, account_id, args.sessions, args.sessions)
        db.dispose()
        with running_server(url, "--workers", str(args.workers)) as (base, _):
            reads, writes = Tally(), Tally()
            until = time.monotonic() + args.seconds
            threads: list[threading.Thread] = [
                threading.Thread(target=reader, args=(base, read_key, until, reads))
                for _ in range(args.readers)
            ]
            threads += [
                threading.Thread(target=writer, args=(base, write_key, until, writes, n))
                for n in range(args.writers)
            ]
            began = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - began
    window: dict[str, Any] = {
        "sessions": args.sessions,
        "backend": args.backend,
        "workers": args.workers,
    }
    print(f"load for {elapsed:.0f} s against {window}:")
    print(summary("usage reads (28 days)", reads, elapsed))
    print(summary("event posts (100 each)", writes, elapsed))


if __name__ == "__main__":
    main()
