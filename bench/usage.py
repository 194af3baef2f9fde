"""Reading large windows: the usage API over HTTP against direct SQL + orjson in one run.

    python -m bench.usage [--sessions 1000000] [--small 100000] [--backend sqlite|postgresql|both]

For each backend, on a fresh database holding ``--sessions`` sessions over a
year (with shares and viewers), it measures the last 28 days:

  (a) stats only (include=stats) over HTTP, against the raw SQL aggregate;
  (b) the full document over HTTP, against (d);
  (c) paging through it with limit=1000;
  (d) baseline: a direct SQL fetch of the same rows serialised with orjson;
  (e) strong baseline: the bare driver, plain Python, orjson chunk by chunk
      (bench/usage_strong.py); targets: (b) >= 60% of it, (c) >= 80% of (b);

and the server's peak RSS, also while it sends the whole year in one document.
Then the same 28-day window on a database holding only ``--small`` sessions:
a window's cost should not depend on how much history there is.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import defaultdict
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from bench._common import (
    Timer,
    fresh_database,
    make_keys,
    next_cursor_of,
    peak_rss_mb,
    postgres_available,
    running_server,
)
from bench.usage_data import DAY_US, YEAR_END_US, load
from bench.usage_strong import strong_baseline
from sharelog.store.database import Database
from sharelog.store.usage_rows import location_sort_key
from sharelog.timestamps import format_timestamp

WINDOW = {"from": format_timestamp(YEAR_END_US - 28 * DAY_US), "to": format_timestamp(YEAR_END_US)}
YEAR = {"from": format_timestamp(YEAR_END_US - 366 * DAY_US), "to": format_timestamp(YEAR_END_US)}
_RUNS = itertools.count(1)


def fresh_window() -> dict[str, str]:
    """WINDOW with its end a few us later each time: the same sessions, but stats
    the server has not kept from an earlier run (it keeps a window's stats while
    the account's sessions stay the same)."""
    return {**WINDOW, "to": f"{YEAR_END_US // 1_000_000}.{next(_RUNS):06d}"}


def raw_stats(db: Database, account_id: int) -> float:
    sql = text(
        "SELECT agent, COUNT(*), SUM((end_us - start_us) / 1000000) FROM sessions "
        "WHERE account_id = :a AND start_us >= :f AND start_us < :t GROUP BY agent"
    )
    params = {"a": account_id, "f": YEAR_END_US - 28 * DAY_US, "t": YEAR_END_US}
    with db.engine.connect() as conn, Timer() as t:
        conn.execute(sql, params).all()
    return t.seconds


def baseline_document(db: Database, account_id: int) -> tuple[int, float]:
    """Three range queries and one orjson.dumps: the least work that yields the same sessions."""
    params = {"a": account_id, "f": YEAR_END_US - 28 * DAY_US, "t": YEAR_END_US}
    window = "s.account_id = :a AND s.start_us >= :f AND s.start_us < :t"
    with db.engine.connect() as conn, Timer() as t:
        shares: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sid, at, kind, title, url in conn.execute(
            text(
                f"SELECT x.session_id, x.at_us, x.type, x.title, x.url FROM shares x "
                f"JOIN sessions s ON s.account_id = x.account_id AND s.id = x.session_id "
                f"WHERE {window} ORDER BY x.session_id, x.at_us, x.seq, x.event_id"
            ),
            params,
        ):
            shares[sid].append(
                {"at": format_timestamp(at), "type": kind, "title": title, "url": url}
            )
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for sid, country, region, city, n in conn.execute(
            text(
                f"SELECT v.session_id, v.country, v.region, v.city, COUNT(*) FROM viewers v "
                f"JOIN sessions s ON s.account_id = v.account_id AND s.id = v.session_id "
                f"WHERE {window} GROUP BY v.session_id, v.country, v.region, v.city"
            ),
            params,
        ):
            groups[sid].append({"country": country, "region": region, "city": city, "count": n})
        documents = []
        for sid, agent, start, end in conn.execute(
            text(
                f"SELECT s.id, s.agent, s.start_us, s.end_us FROM sessions s WHERE {window} ORDER BY s.start_us, s.id"
            ),
            params,
        ):
            located = sorted(groups.get(sid, []), key=location_sort_key)
            documents.append(
                {
                    "id": sid,
                    "agent": agent,
                    "start": format_timestamp(start),
                    "end": format_timestamp(end),
                    "duration": (end - start) // 1_000_000,
                    "shares": shares.get(sid, []),
                    "viewers": {"count": sum(g["count"] for g in located), "locations": located},
                }
            )
        orjson.dumps({"sessions": documents})
    return len(documents), t.seconds


def timed_get(http: httpx.Client, params: dict[str, Any]) -> tuple[bytes, float]:
    with Timer() as t:
        response = http.get("/ss/api/usage", params=params)
        response.raise_for_status()
    return response.content, t.seconds


def paged(http: httpx.Client) -> tuple[int, float]:
    """Every page of the window by 1,000, timed as the whole document is: until its
    bytes are in (each page's cursor read from its tail), parsed afterwards."""
    pages, cursor, window = [], None, fresh_window()
    with Timer() as t:
        while True:
            params: dict[str, str | int] = {**window, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            pages.append(http.get("/ss/api/usage", params=params).raise_for_status().content)
            cursor = next_cursor_of(pages[-1])
            if cursor is None:
                break
    return sum(len(orjson.loads(page)["sessions"]) for page in pages), t.seconds


def measure(backend: str, total: int, year_total: int, *, whole_year: bool) -> dict[str, Any]:
    with fresh_database(backend) as url:
        account_id, read_key, _ = make_keys(url)
        db = Database(url)
        started = time.perf_counter()
        load(db, account_id, total, year_total)
        figures: dict[str, Any] = {"load_s": time.perf_counter() - started}
        figures["raw_stats_s"] = min(raw_stats(db, account_id) for _ in range(3))
        figures["baseline_n"], figures["baseline_s"] = min(
            (baseline_document(db, account_id) for _ in range(2)), key=lambda r: r[1]
        )
        figures["strong_n"], figures["strong_s"] = min(
            (
                strong_baseline(url, account_id, YEAR_END_US - 28 * DAY_US, YEAR_END_US)
                for _ in range(2)
            ),
            key=lambda r: r[1],
        )
        db.dispose()
        # Every usage object built on the request, as for an account that has not
        # read lately: the renderer would otherwise write this account's entries
        # ahead after its first read, in the middle of the timings (what stored
        # entries give is measured by bench/datasette.py).
        built = {"SHARELOG_SESSION_ENTRIES": "false"}
        with running_server(url, env=built) as (base, process):
            headers = {"Authorization": f"Basic {read_key}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
                figures["stats_s"] = min(
                    timed_get(http, {**fresh_window(), "include": "stats"})[1] for _ in range(3)
                )
                body, figures["document_s"] = min(
                    (timed_get(http, fresh_window()) for _ in range(2)), key=lambda r: r[1]
                )
                figures["document_n"] = len(orjson.loads(body)["sessions"])
                figures["paged_n"], figures["paged_s"] = paged(http)
                figures["rss_window_mb"] = peak_rss_mb(process.pid)
                if whole_year:
                    with http.stream("GET", "/ss/api/usage", params=YEAR) as response:
                        figures["year_bytes"] = sum(len(c) for c in response.iter_raw())
                    figures["rss_year_mb"] = peak_rss_mb(process.pid)
    return figures


def report(backend: str, total: int, big: dict[str, Any], small: dict[str, Any] | None) -> None:
    n = big["document_n"]
    base_rate = big["baseline_n"] / big["baseline_s"]
    print(
        f"\n{backend}: {total:,} sessions over a year; the 28-day window holds {n:,} (loaded in {big['load_s']:.0f} s)"
    )
    strong_rate = big["strong_n"] / big["strong_s"]
    print(f"  (d) baseline: SQL fetch + orjson        {base_rate:>10,.0f} sessions/s")
    print(f"  (e) strong baseline: bare driver, chunks{strong_rate:>10,.0f} sessions/s")
    for label, key in (
        ("(b) full document over HTTP", "document_s"),
        ("(c) paging, limit=1000", "paged_s"),
    ):
        rate = n / big[key]
        print(
            f"  {label:<38}{rate:>10,.0f} sessions/s   {rate / base_rate:6.1%} of (d), "
            f"{rate / strong_rate:6.1%} of (e)"
        )
    print(
        f"  paging against the streamed document:   {big['document_s'] / big['paged_s']:6.1%}"
        "   (target >= 80%; the document >= 60% of (e))"
    )
    print(
        f"  (a) stats only over HTTP                {big['stats_s'] * 1000:>8.1f} ms     "
        f"raw SQL aggregate {big['raw_stats_s'] * 1000:.1f} ms: {big['stats_s'] / big['raw_stats_s']:.2f}x"
    )
    print(f"  server peak RSS after the window:       {big['rss_window_mb']:>8.0f} MB")
    if "rss_year_mb" in big:
        print(
            f"  server peak RSS after the whole year ({total:,} sessions, "
            f"{big['year_bytes'] / 1e6:,.0f} MB of JSON): {big['rss_year_mb']:.0f} MB"
        )
    if small is not None:
        for label, key in (("stats only", "stats_s"), ("full document", "document_s")):
            print(
                f"  same window, {total:,} vs {small['total']:,} sessions held, {label}: "
                f"{big[key] / small[key]:.2f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000, help="0 skips the comparison")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not postgres_available():
            print("\npostgresql: skipped, no server answers")
            continue
        big = measure(backend, args.sessions, args.sessions, whole_year=True)
        small = None
        if args.small:
            small = {
                **measure(backend, args.small, args.sessions, whole_year=False),
                "total": args.small,
            }
        report(backend, args.sessions, big, small)


if __name__ == "__main__":
    main()
