"""Scale-out figures on ``deploy/cluster.sh``'s deployment, through HAProxy.

    python -m bench.cluster [--sessions 20000] [--seconds 15] [--clients 6] [--repeat 2]

One deployment (primary, synchronous standby, three ``sharelog serve``,
HAProxy) holding ``--sessions`` sessions over a year. HAProxy has two
frontends: one balancing over the three processes, one in front of the first
process only; each figure is measured through both, interleaved, best of
``--repeat`` (on a shared machine the best run is the least disturbed):

  (a) the full usage document of the last 28 days (read from the standby),
      fetched by ``--clients`` threads for ``--seconds``: documents a second;
  (b) event ingestion, batches of 1,000 events (BENCH_EVENTS, default 60,000)
      from ``--clients`` threads: events a second; meanwhile the standby's
      replay lag is sampled every 0.2 s (the primary's
      ``pg_stat_replication.replay_lag``, and the WAL bytes not yet replayed).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench._common import make_keys
from bench.events import make_events, post_all
from bench.usage import WINDOW
from bench.usage_data import load
from sharelog.store.database import Database

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "cluster.sh"
BASE = 17200
DIRECTORY = f"/tmp/sharelog-cluster-bench-{BASE}"


def cluster(action: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELOG_")}
    env.update(CLUSTER_BASE=str(BASE), CLUSTER_APIS="3", SHARELOG_LOG_LEVEL="warning")
    subprocess.run([str(SCRIPT), action, DIRECTORY], check=True, env=env)
    if action != "up":
        return {}
    words = shlex.split(Path(DIRECTORY, "env").read_text())
    return dict(word.split("=", 1) for word in words)


def documents(url: str, key: str, clients: int, seconds: float) -> float:
    """Full 28-day documents a second, fetched by ``clients`` threads for ``seconds``."""
    done = [0] * clients
    started = time.perf_counter()

    def fetch(n: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Basic {key}"}) as http:
            while time.perf_counter() - started < seconds:
                http.get("/ss/api/usage", params=WINDOW, timeout=60).raise_for_status()
                done[n] += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(fetch, range(clients)))
    return sum(done) / (time.perf_counter() - started)


def sample_lag(primary_port: str, stop: threading.Event, into: list[tuple[float, int]]) -> None:
    engine = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{primary_port}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    query = text(
        "SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag), 0), "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication"
    )
    with engine.connect() as conn:
        while not stop.is_set():
            lag, behind = conn.execute(query).one()
            into.append((float(lag), int(behind)))
            stop.wait(0.2)
    engine.dispose()


def ingest(env: dict[str, str], url: str, clients: int, lags: list[tuple[float, int]]) -> float:
    """Events a second into a new account, sampling the standby's lag meanwhile."""
    _, _, write_key = make_keys(env["SHARELOG_DATABASE_URL"], f"ingest-{time.monotonic_ns()}")
    events = make_events(int(os.environ.get("BENCH_EVENTS", "60000")))
    stop = threading.Event()
    sampler = threading.Thread(target=sample_lag, args=(env["PRIMARY_PORT"], stop, lags))
    sampler.start()
    try:
        return len(events) / post_all(url, write_key, events, 1000, clients)
    finally:
        stop.set()
        sampler.join()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    env = cluster("up")
    try:
        fronts = {"1 process": env["CLUSTER_SINGLE_URL"], "3 processes": env["CLUSTER_URL"]}
        account_id, read_key, _ = make_keys(env["SHARELOG_DATABASE_URL"], "bench")
        db = Database(env["SHARELOG_DATABASE_URL"])
        load(db, account_id, args.sessions, args.sessions)
        db.dispose()
        with httpx.Client(headers={"Authorization": f"Basic {read_key}"}) as http:
            answer = http.get(f"{env['CLUSTER_URL']}/ss/api/usage", params=WINDOW)
            window = len(answer.json()["sessions"])
        docs = {name: 0.0 for name in fronts}
        events = {name: 0.0 for name in fronts}
        lags: list[tuple[float, int]] = []
        loads = []
        for _ in range(args.repeat):
            for name, url in fronts.items():
                docs[name] = max(docs[name], documents(url, read_key, args.clients, args.seconds))
                events[name] = max(events[name], ingest(env, url, args.clients, lags))
                loads.append(os.getloadavg()[0])
    finally:
        cluster("down")
    print(
        f"\n{args.sessions:,} sessions over a year, 28-day documents of {window:,} sessions; "
        f"{args.clients} client threads through HAProxy; best of {args.repeat}; "
        f"machine load average {min(loads):.1f} to {max(loads):.1f} on {os.cpu_count()} cores"
    )
    for name in fronts:
        print(f"  {name:<12} {docs[name]:7.2f} documents/s  {events[name]:9,.0f} events/s")
    print(
        f"  3 vs 1:      documents x{docs['3 processes'] / docs['1 process']:.2f}, "
        f"events x{events['3 processes'] / events['1 process']:.2f}"
    )
    print(
        f"  standby replay lag while ingesting ({len(lags)} samples): median "
        f"{statistics.median(lag for lag, _ in lags) * 1000:.1f} ms, "
        f"max {max(lag for lag, _ in lags) * 1000:.1f} ms; "
        f"at most {max(b for _, b in lags) / 1024:,.0f} KB of WAL not yet replayed"
    )


if __name__ == "__main__":
    main()
