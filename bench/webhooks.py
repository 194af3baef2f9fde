"""Webhooks: what an endpoint costs ingestion, and how fast one sender delivers.

    python -m bench.webhooks [--events 20000] [--messages 3000] [--backend sqlite|postgres|both]

1. Events ingested (1,000 a request, through the Ingestor) by an account with
   one endpoint subscribed to ``session.ended``, against an account with none;
   best of 3, interleaved. Target: >= 80%, for bench.events' sessions of ten
   events; also printed for the worst case, sessions of a start and an end
   only (every other event then makes a message).
2. Messages delivered by one in-process sender (default concurrency) to a
   local receiver (its own process, verifying every signature), per second.
   Target: >= 1,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from bench._common import fresh_database
from bench.events import make_events
from sharelog.api.event_bodies import parse_events_body
from sharelog.domain import EventIn
from sharelog.geo import open_locator
from sharelog.ingest import Ingestor
from sharelog.store import accounts as account_store
from sharelog.store import outbox
from sharelog.store import webhooks as endpoint_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from sharelog.webhooks.messages import ping_row
from sharelog.webhooks.sender import Sender, SenderOptions

SECRET = "whsec_" + "A" * 43 + "="
BATCH = 1000


def events_for(prefix: str, count: int) -> list[list[EventIn]]:
    batches, batch = [], []
    for i in range(count // 2):
        sid = f"{prefix}-{i}"
        batch.append(
            EventIn(
                id=f"{sid}-a",
                type="session.started",
                session_id=sid,
                at_us=1_764_000_000_000_000 + i,
                agent="a@x.io",
            )
        )
        batch.append(
            EventIn(
                id=f"{sid}-b", type="session.ended", session_id=sid, at_us=1_764_000_600_000_000 + i
            )
        )
        if len(batch) >= BATCH:
            batches.append(batch)
            batch = []
    return batches + ([batch] if batch else [])


def typical_batches(prefix: str, count: int) -> list[list[EventIn]]:
    """bench.events' sessions (ten events each: start, two shares, three viewers
    joining and leaving, end), with ids and session ids of their own."""
    events = make_events(count)
    for e in events:
        e["id"], e["session"] = f"{prefix}-{e['id']}", f"{prefix}-{e['session']}"
    return [
        parse_events_body({"events": events[i : i + BATCH]}) for i in range(0, len(events), BATCH)
    ]


def ingestion(url: str, events: int, typical: bool) -> tuple[float, float]:
    db = Database(url)
    with db.writing() as conn:
        plain = account_store.create_account(conn, f"plain-{typical}", now_us()).id
        hooked = account_store.create_account(conn, f"hooked-{typical}", now_us()).id
        endpoint_store.insert_endpoint(
            conn,
            hooked,
            "ep_bench",
            url="http://127.0.0.1:9/",
            events=("session.ended",),
            description="",
            secret=SECRET,
            now_us=now_us(),
        )
    ingestor = Ingestor(db, open_locator(""))
    best = {plain: 0.0, hooked: 0.0}
    for run in range(3):
        for account in (plain, hooked):
            prefix = f"{account}-{run}"
            batches = typical_batches(prefix, events) if typical else events_for(prefix, events)
            started = time.perf_counter()
            for batch in batches:
                ingestor.ingest_events(account, batch)
            best[account] = max(best[account], events / (time.perf_counter() - started))
    db.dispose()
    return best[plain], best[hooked]


def delivery(url: str, messages: int) -> tuple[float, dict[str, object]]:
    db = Database(url)
    receiver = subprocess.Popen(
        [sys.executable, "-m", "tests.webhooks.fast_receiver", SECRET], stdout=subprocess.PIPE
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    with db.writing() as conn:
        account = account_store.create_account(conn, "deliver", now_us()).id
        endpoint_store.insert_endpoint(
            conn,
            account,
            "ep_out",
            url=f"http://127.0.0.1:{port}/",
            events=("*",),
            description="",
            secret=SECRET,
            now_us=now_us(),
        )
        conn.execute(text("DELETE FROM webhook_endpoints WHERE id = 'ep_bench'"))
        outbox.insert_messages(
            conn, [ping_row(account, "ep_out", now_us()) for _ in range(messages)]
        )
    # The default concurrency (8 in flight to the endpoint), as `sharelog deliver` runs.
    sender = Sender(db, SenderOptions(allow_private=True, poll_seconds=0.05))
    started = time.perf_counter()
    asyncio.run(sender.run_until_idle(timeout=600))
    rate = messages / (time.perf_counter() - started)
    receiver.send_signal(signal.SIGTERM)
    summary = json.loads(receiver.stdout.readline())
    summary.pop("ended", None)
    db.dispose()
    return rate, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=3_000)
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgres", "both"))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        with fresh_database(backend) as url:
            for typical, shape in (
                (True, "sessions of 10 events, as bench.events"),
                (False, "worst case: sessions of 2 events, started and ended"),
            ):
                plain, hooked = ingestion(url, args.events, typical)
                print(
                    f"{backend}: {shape}: events/s without endpoint {plain:,.0f}, with one "
                    f"(session.ended) {hooked:,.0f}: {hooked / plain:.0%}",
                    flush=True,
                )
            rate, summary = delivery(url, args.messages)
            print(
                f"{backend}: {args.messages} messages delivered by one sender at "
                f"{rate:,.0f}/s; receiver {summary}",
                flush=True,
            )


if __name__ == "__main__":
    main()
