"""The change feed: a catch-up from zero against the usage document, and what positions cost.

    python -m bench.feed [--sessions 200000] [--events 100000] [--backend sqlite|postgresql|both]

For each backend, on a fresh database holding ``--sessions`` sessions:

  (a) the full usage document of every session over HTTP (the same-run baseline),
      from a server that builds every usage object on the request (its
      renderer off);
  (b) a catch-up through GET /ss/api/changes from zero with limit=1000, over HTTP,
      from the same server, every feed entry built on the request;
  (c) the same from a server as it runs by default, once its renderer has
      written the entries of the ended sessions of this account, which reads
      its feed (sharelog/renderer.py; how long that took is printed too):
      target at least 70% of (a)'s sessions/s;
  (a') the document from that server, which sends the usage objects its
      renderer wrote too (each about 0.4 times the bytes of a feed entry, so
      the catch-up cannot keep 70% of it: printed beside (c));

then event ingestion in process (``Ingestor.ingest_events``, batches of 1,000)
with the change feed's positions against the same code with positions switched
off, alternating runs, best of 3: target at most 10% slower.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import orjson

from bench._common import (
    Timer,
    fresh_database,
    make_keys,
    postgres_available,
    rendered_after,
    running_server,
)
from bench.events import make_events
from bench.usage_data import DAY_US, YEAR_END_US, load
from sharelog.api.event_bodies import parse_events_body
from sharelog.geo import open_locator
from sharelog.ingest import Ingestor
from sharelog.store import events as event_store
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp

EVERYTHING = {
    "from": format_timestamp(YEAR_END_US - 400 * DAY_US),
    "to": format_timestamp(YEAR_END_US + DAY_US),
}


def document(http: httpx.Client) -> tuple[int, float]:
    with Timer() as t:
        response = http.get("/ss/api/usage", params=EVERYTHING).raise_for_status()
        count = len(orjson.loads(response.content)["sessions"])
    return count, t.seconds


def catch_up(http: httpx.Client) -> tuple[int, float]:
    count, since = 0, None
    with Timer() as t:
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"since": since} if since else {})}
            response = http.get("/ss/api/changes", params=params).raise_for_status()
            page = orjson.loads(response.content)
            count += len(page["changes"])
            since = page["next"]
            if not page["has_more"]:
                break
    return count, t.seconds


def ingest(backend: str, events: list[dict[str, Any]], *, positions: bool) -> float:
    """Seconds to ingest ``events`` into a fresh database, with or without positions."""
    with fresh_database(backend) as url:
        return _ingest(url, events, positions=positions)


def _ingest(url: str, events: list[dict[str, Any]], *, positions: bool) -> float:
    account_id, _, _ = make_keys(url)
    db = Database(url)
    ingestor = Ingestor(db, open_locator(""))
    batches = [
        parse_events_body({"events": events[i : i + 1000]}) for i in range(0, len(events), 1000)
    ]
    # The name the write path calls, as imported into store.events.
    original = event_store.take_positions  # type: ignore[attr-defined]
    if not positions:
        # The same writes with every seq left at 0: no counter, no notification.
        event_store.take_positions = lambda *_args: 0  # type: ignore[attr-defined]
    try:
        with Timer() as t:
            for batch in batches:
                ingestor.ingest_events(account_id, batch)
    finally:
        event_store.take_positions = original  # type: ignore[attr-defined]
        db.dispose()
    return t.seconds


def read_both(http: httpx.Client) -> tuple[float, float]:
    """(document, catch-up) in sessions/s, best of two each."""
    doc_n, doc_s = min((document(http) for _ in range(2)), key=lambda r: r[1])
    feed_n, feed_s = min((catch_up(http) for _ in range(2)), key=lambda r: r[1])
    return doc_n / doc_s, feed_n / feed_s


def run_backend(backend: str, sessions: int, event_count: int) -> None:
    with fresh_database(backend) as url:
        account_id, read_key, _ = make_keys(url)
        db = Database(url)
        load(db, account_id, sessions, sessions)
        db.dispose()
        headers = {"Authorization": f"Basic {read_key}"}
        # Built on every request: the renderer off, no entries stored yet.
        with (
            running_server(url, env={"SHARELOG_SESSION_ENTRIES": "false"}) as (base, _),
            httpx.Client(base_url=base, headers=headers, timeout=600) as http,
        ):
            built_doc, built_feed = read_both(http)
        # A server as it runs by default, for an account that reads its feed:
        # its renderer writes the entries ahead (the catch-up above read it).
        with (
            running_server(url) as (base, _),
            httpx.Client(base_url=base, headers=headers, timeout=600) as http,
        ):
            render_s = rendered_after(url, account_id)
            kept_doc, kept_feed = read_both(http)
    events = make_events(event_count)
    with_s, without_s = [], []
    for _ in range(3):
        without_s.append(ingest(backend, events, positions=False))
        with_s.append(ingest(backend, events, positions=True))
    print(f"\n{backend}: {sessions:,} sessions")
    print(f"  (a) full usage document, built           {built_doc:>10,.0f} sessions/s")
    print(
        f"  (b) catch-up, entries built per request  {built_feed:>10,.0f} sessions/s   "
        f"{built_feed / built_doc:6.1%} of (a)"
    )
    print(
        f"  the server's renderer wrote every entry in {render_s:.1f} s: "
        f"{sessions / render_s:,.0f} sessions/s in the background"
    )
    print(f"  (a') full usage document, stored objects {kept_doc:>10,.0f} sessions/s")
    print(
        f"  (c) catch-up, entries written ahead      {kept_feed:>10,.0f} sessions/s   "
        f"{kept_feed / built_doc:6.1%} of (a) (target >= 70%), {kept_feed / kept_doc:6.1%} of (a')"
    )
    best_with, best_without = min(with_s), min(without_s)
    print(
        f"  events in process, {event_count:,}: without positions "
        f"{event_count / best_without:,.0f}/s, with {event_count / best_with:,.0f}/s: "
        f"{best_with / best_without - 1:+.1%} time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("\npostgresql: skipped, no server answers")
            continue
        run_backend(backend, args.sessions, args.events)


if __name__ == "__main__":
    main()
