"""Mixed load against a real server: usage reads and event posts at once, on loopback.

    python -m bench.load [--seconds 60] [--workers 2] [--readers 4] [--writers 2] [--backend sqlite]

Readers fetch 28-day usage documents (stats and sessions); writers post
batches of 100 events as fast as the server answers (a closed loop). It prints,
per kind, requests, errors, throughput and p50/p99 latency; it stops by itself
after --seconds. First, as a baseline in the same run, the readers run alone.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor

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


def reader(base: str, key: str, until: float, tally: Tally, _n: int) -> None:
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
                    # After the readers' window, so that every read stays the same size.
                    "at": format_timestamp(YEAR_END_US + DAY_US + (i % 2) * 600_000_000),
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


def _clients(kind: str, base: str, key: str, count: int, seconds: float) -> tuple[list[float], int]:
    """``count`` reader or writer threads until ``seconds`` have passed: latencies, errors."""
    tally = Tally()
    until = time.monotonic() + seconds
    target = reader if kind == "read" else writer
    threads = [
        threading.Thread(target=target, args=(base, key, until, tally, n)) for n in range(count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally.latencies, tally.errors


def drive(
    base: str, read_key: str, write_key: str, readers: int, writers: int, seconds: float
) -> tuple[Tally, Tally, float]:
    """Readers and writers at once for ``seconds``; their tallies and the time taken.

    Readers and writers run in two processes: with all their threads in one,
    the load generator's own GIL slowed the reads it measured (p99 17 s, 6 s
    apart, on the same server)."""
    with ProcessPoolExecutor(2) as pool:
        began = time.monotonic()
        futures = [
            pool.submit(_clients, "read", base, read_key, readers, seconds),
            pool.submit(_clients, "write", base, write_key, writers, seconds),
        ]
        reads, writes = Tally(), Tally()
        for tally, future in zip((reads, writes), futures, strict=True):
            tally.latencies, tally.errors = future.result()
        return reads, writes, time.monotonic() - began


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
            # Baseline in the same run: the readers alone, for a sixth of the time (10 s at least).
            alone, _, alone_s = drive(
                base, read_key, write_key, args.readers, 0, max(10.0, args.seconds / 6)
            )
            reads, writes, elapsed = drive(
                base, read_key, write_key, args.readers, args.writers, args.seconds
            )
    setup = {"sessions": args.sessions, "backend": args.backend, "workers": args.workers}
    print(f"baseline: {args.readers} readers alone for {alone_s:.0f} s against {setup}:")
    print(summary("usage reads (28 days)", alone, alone_s))
    print(f"load: {args.readers} readers and {args.writers} writers at once for {elapsed:.0f} s:")
    print(summary("usage reads (28 days)", reads, elapsed))
    print(summary("event posts (100 each)", writes, elapsed))


if __name__ == "__main__":
    main()
