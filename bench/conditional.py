"""Conditional GETs: what a poller that finds nothing new costs, against the full answer.

    python -m bench.conditional [--sessions 20000] [--seconds 5] [--clients 4] [--backend both]

For each backend, on a fresh database holding ``--sessions`` sessions over a
year, against a real server (one worker), a closed loop of ``--clients``
concurrent clients (in two processes, so the load generator's GIL is not the
limit) asks the same request for ``--seconds``:

  - ``GET /healthz``: no key, no database (the floor of a request's cost);
  - ``GET /ss/api/usage?from=x``: the key checked, then a 400 (the floor of
    an API request's);
  - each poller's request answered in full (200), then with ``If-None-Match``
    holding its ETag (304): a day's usage, 28 days' usage, and a change feed
    that is caught up.

It prints requests/s of each, the 304s as a multiple of their 200s and as a
share of the 400s (all measured in the same run).
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import httpx

from bench._common import fresh_database, make_keys, postgres_available, running_server
from bench.usage_data import DAY_US, YEAR_END_US, load
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp

PROCESSES = 2


def window(days: int) -> dict[str, str]:
    return {
        "from": format_timestamp(YEAR_END_US - days * DAY_US),
        "to": format_timestamp(YEAR_END_US),
    }


@dataclass(frozen=True)
class Ask:
    """One request, asked again and again; every answer must have status ``expect``."""

    base: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    expect: int


def _threads(ask: Ask, threads: int, seconds: float) -> tuple[int, int]:
    """``threads`` clients asking until ``seconds`` have passed: (answers, unexpected ones)."""
    counts = [[0, 0] for _ in range(threads)]
    until = time.monotonic() + seconds

    def run(tally: list[int]) -> None:
        with httpx.Client(base_url=ask.base, headers=ask.headers, timeout=60) as http:
            while time.monotonic() < until:
                status = http.get(ask.path, params=ask.params).status_code
                tally[0] += 1
                tally[1] += status != ask.expect

    workers = [threading.Thread(target=run, args=(c,)) for c in counts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def rate(pool: ProcessPoolExecutor, ask: Ask, clients: int, seconds: float) -> float:
    """Requests/s of ``clients`` concurrent clients, spread over the pool's processes."""
    per = max(1, clients // PROCESSES)
    began = time.monotonic()
    futures = [pool.submit(_threads, ask, per, seconds) for _ in range(PROCESSES)]
    results = [f.result() for f in futures]
    elapsed = time.monotonic() - began
    answered, wrong = sum(r[0] for r in results), sum(r[1] for r in results)
    if wrong:
        raise RuntimeError(f"{ask.path}: {wrong} of {answered} answers were not {ask.expect}")
    return answered / elapsed


def run_backend(backend: str, sessions: int, seconds: float, clients: int) -> None:
    with fresh_database(backend) as url:
        account_id, read_key, _ = make_keys(url)
        db = Database(url)
        load(db, account_id, sessions, sessions)
        db.dispose()
        key = {"Authorization": f"Basic {read_key}"}
        with running_server(url) as (base, _), ProcessPoolExecutor(PROCESSES) as pool:
            http = httpx.Client(base_url=base, headers=key, timeout=60)
            caught_up = {"limit": "1000"}
            while (page := http.get("/ss/api/changes", params=caught_up).json())["has_more"]:
                caught_up["since"] = page["next"]
            caught_up["since"] = page["next"]
            polls = {
                "usage, 1 day": ("/ss/api/usage", window(1)),
                "usage, 28 days": ("/ss/api/usage", window(28)),
                "changes, caught up": ("/ss/api/changes", caught_up),
            }
            sizes = {
                name: len(http.get(path, params=params).json().get("sessions", []))
                for name, (path, params) in polls.items()
            }
            healthz = rate(pool, Ask(base, "/healthz", {}, {}, 200), clients, seconds)
            refused = Ask(base, "/ss/api/usage", {"from": "x"}, key, 400)
            floor = rate(pool, refused, clients, seconds)
            figures = {}
            for name, (path, params) in polls.items():
                answer = http.get(path, params=params)
                tag = {**key, "If-None-Match": answer.headers["etag"]}
                full = rate(pool, Ask(base, path, params, key, 200), clients, seconds)
                cached = rate(pool, Ask(base, path, params, tag, 304), clients, seconds)
                figures[name] = (full, cached, len(answer.content))
            http.close()
    print(f"\n{backend}: {sessions:,} sessions, {clients} clients, {seconds:g} s each, 1 worker")
    print(f"  {'GET /healthz (no key, no database)':<44} {healthz:>9,.0f} req/s")
    print(f"  {'a key checked, then 400 (from=x)':<44} {floor:>9,.0f} req/s")
    for name, (full, cached, size) in figures.items():
        what = f"{sizes[name]:,} sessions" if name.startswith("usage") else "nothing new"
        print(f"  {name + f' ({what}, {size:,} bytes)':<44} {full:>9,.0f} req/s answered 200")
        print(
            f"  {'':<44} {cached:>9,.0f} req/s answered 304: "
            f"{cached / full:5.1f}x the 200s, {cached / floor:6.1%} of the 400s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("\npostgresql: skipped, no server answers")
            continue
        run_backend(backend, args.sessions, args.seconds, args.clients)


if __name__ == "__main__":
    main()
