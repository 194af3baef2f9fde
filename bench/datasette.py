"""sharelog beside Datasette, serving the same SQLite file, in one run.

    python -m bench.datasette [--sessions 150000] [--window 70000] [--repeat 3]
                              [--page 1000] [--datasette PATH] [--backend sqlite|both]

Datasette is what people reach for to serve a SQLite file as JSON or CSV. One
file is filled by the project's generator (``bench.usage_data``); a real
``sharelog serve`` and a real ``datasette serve`` (installed by ``make bench``
from the ``bench`` extra, never a runtime dependency) serve it on loopback,
and one client asks both, alternately, for the newest ``--window`` sessions:

  document  the full usage document, against Datasette's nested JSON1 query;
  csv       ``format=csv``, against Datasette's SQL CSV of the same columns;
  ndjson    ``format=ndjson``, against Datasette's JSON array of flat rows;
  paging    JSON pages of ``--page`` sessions (with stats and nested sessions),
            against Datasette's table pages of that size, followed by ``Link``.

sharelog serves the account as it does one that reads its usage: its first
read has the server write each session's usage object ahead
(``sharelog/renderer.py``), and the timings start once that is done (Datasette
serves its own copy of the file, taken then). Each figure is the best of
``--repeat``: the time for the whole body and the time to its first byte.
Then each server's peak RSS (VmHWM). The first answers of both are compared:
the same sessions, the same rows (a mismatch stops the run). Then a sharelog
with ``SHARELOG_SESSION_ENTRIES=false`` builds every usage object on the
request (document, NDJSON, paging), as for an account that has not read
lately. With ``--backend both`` (the default), sharelog then serves the same
sessions from PostgreSQL, its answers checked against Datasette's too. The
queries are in ``bench/datasette_sql.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._common import (
    fetch,
    fresh_database,
    make_keys,
    next_cursor_of,
    peak_rss_mb,
    postgres_available,
    rendered_after,
    running_server,
)
from bench.datasette_peer import Datasette, checkpoint, datasette_executable, datasette_server
from bench.datasette_sql import document_sql, flat_sql, page_params
from bench.usage_data import DAY_US, YEAR_END_US, load
from sharelog.store.database import Database

# sharelog's rate over Datasette's, at least (issue 21); None: reported only.
TARGETS: dict[str, float | None] = {"document": 2.0, "csv": 1.2, "ndjson": None, "paging": 1.0}
# What stored usage entries serve (CSV rows are made from the rows either way).
BUILT_KINDS = ("document", "ndjson", "paging")


@dataclass
class Fetched:
    seconds: float
    first_byte: float
    bodies: list[bytes]


def timed(run: Callable[[], list[tuple[float, bytes]]]) -> Fetched:
    began = time.perf_counter()
    answers = run()
    return Fetched(time.perf_counter() - began, answers[0][0], [b for _, b in answers])


class Sharelog:
    name = "sharelog"

    def __init__(self, http: httpx.Client, from_us: int, to_us: int, page: int) -> None:
        self.http, self.from_us, self.to_us, self.page = http, from_us, to_us, page
        self.runs = itertools.count()

    def window(self) -> dict[str, str]:
        """The window, its end 1 us later on each run: the same sessions, but stats
        that no earlier run has computed (sharelog keeps a window's stats while its
        sessions stay the same, as they do here)."""
        return {
            "from": unix_seconds(self.from_us),
            "to": unix_seconds(self.to_us + next(self.runs)),
        }

    def one(self, params: dict[str, Any]) -> list[tuple[float, bytes]]:
        first, body, _ = fetch(self.http, "/ss/api/usage", {**self.window(), **params})
        return [(first, body)]

    def paging(self) -> list[tuple[float, bytes]]:
        answers, cursor, window = [], None, self.window()
        while True:
            params = {**window, "limit": self.page, **({"cursor": cursor} if cursor else {})}
            first, body, _ = fetch(self.http, "/ss/api/usage", params)
            answers.append((first, body))
            cursor = next_cursor_of(body)
            if cursor is None:
                return answers

    def kinds(self) -> dict[str, Callable[[], list[tuple[float, bytes]]]]:
        return {
            "document": lambda: self.one({}),
            "csv": lambda: self.one({"format": "csv"}),
            "ndjson": lambda: self.one({"format": "ndjson"}),
            "paging": self.paging,
        }


def check(kind: str, ours: list[bytes], theirs: list[bytes], window: int) -> None:
    """The same sessions (or rows) from both, or the run stops here."""
    if kind == "document":
        a, b = orjson.loads(ours[0])["sessions"], orjson.loads(theirs[0])
    elif kind == "csv":
        a, b = (list(csv.reader(io.StringIO(body[0].decode()))) for body in (ours, theirs))
    elif kind == "ndjson":
        a = [s["id"] for s in map(orjson.loads, ours[0].splitlines())]
        b = [row["id"] for row in orjson.loads(theirs[0])]
    else:
        a = [s["id"] for page in ours for s in orjson.loads(page)["sessions"]]
        b = [row["id"] for page in theirs for row in orjson.loads(page)]
    rows = len(a) - (kind == "csv")
    if rows != window or a != b:
        raise SystemExit(
            f"{kind}: sharelog and Datasette differ ({rows} vs {len(b) - (kind == 'csv')} "
            f"rows, {window} expected); first difference: "
            f"{next(((x, y) for x, y in zip(a, b, strict=False) if x != y), None)}"
        )


def unix_seconds(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def run(args: argparse.Namespace) -> None:
    with fresh_database("sqlite") as url:
        path = Path(url.removeprefix("sqlite:///"))
        account_id, read_key, (from_us, to_us) = filled(url, args)
        print(f"  the SQLite file: {path.stat().st_size / 1e6:,.0f} MB")
        sql = {
            "document": document_sql(account_id, from_us, to_us),
            "flat": flat_sql(account_id, from_us, to_us),
        }
        page = page_params(account_id, from_us, to_us, args.page)
        executable = datasette_executable(args.datasette)
        headers = {"Authorization": f"Basic {read_key}"}
        with running_server(url) as (ours_base, ours_process):
            with httpx.Client(base_url=ours_base, headers=headers, timeout=600) as http:
                render_s = read_once(http, url, account_id)
            print(
                f"  the server wrote {args.sessions:,} sessions' entries ahead in {render_s:.1f} s"
            )
            checkpoint(path)
            # Datasette's own copy, opened immutable: nothing sharelog writes from
            # here on (a read noted once a minute) can reach it.
            theirs = path.parent / "peer" / path.name
            theirs.parent.mkdir()
            shutil.copyfile(path, theirs)
            with (
                datasette_server(executable, theirs, args.window + 1) as (
                    their_base,
                    their_process,
                ),
                httpx.Client(base_url=ours_base, headers=headers, timeout=600) as ours_http,
                httpx.Client(base_url=their_base, timeout=600) as their_http,
            ):
                sides = (
                    Sharelog(ours_http, from_us, to_us, args.page),
                    Datasette(their_http, theirs.stem, sql, page),
                )
                best, reference = measure(sides, args.repeat, args.window, args.only)
                rss = (peak_rss_mb(ours_process.pid), peak_rss_mb(their_process.pid))
        built = built_figures(url, headers, (from_us, to_us), args, reference)
    on_postgresql = None
    if args.backend == "both":
        on_postgresql = postgresql_figures(args, reference)
    report(best, rss, args.window, on_postgresql)
    report_built(best, built, args.window)


def built_figures(
    url: str,
    headers: dict[str, str],
    window: tuple[int, int],
    args: argparse.Namespace,
    reference: dict[str, list[bytes]],
) -> dict[str, Fetched]:
    """The kinds that send usage objects, from a server that builds every one on the
    request (entries off: neither written nor read), each checked against Datasette's."""
    with (
        running_server(url, env={"SHARELOG_SESSION_ENTRIES": "false"}) as (base, _),
        httpx.Client(base_url=base, headers=headers, timeout=600) as http,
    ):
        kinds = Sharelog(http, *window, args.page).kinds()
        built = {kind: reference[kind] for kind in BUILT_KINDS if kind in reference}
        return sharelog_alone(kinds, built, args, "sharelog, built on request")


def read_once(http: httpx.Client, url: str, account_id: int) -> float:
    """The account's first read, then the seconds until the server has written its
    entries ahead. The key's first use is recorded by a write, and so is the first
    read of usage objects, after which the server renders the account's history
    (sharelog/renderer.py): both before any timing."""
    http.get("/ss/api/usage", params={"include": "sessions", "limit": 1})
    return rendered_after(url, account_id)


def sharelog_alone(
    kinds: dict[str, Callable[[], list[tuple[float, bytes]]]],
    reference: dict[str, list[bytes]],
    args: argparse.Namespace,
    label: str,
) -> dict[str, Fetched]:
    """The best of each kind in ``reference``, each checked against Datasette's answer."""
    best = {}
    for kind, bodies in reference.items():
        runs = [timed(kinds[kind]) for _ in range(args.repeat)]
        check(kind, runs[0].bodies, bodies, args.window)
        best[kind] = fastest(runs)
        print(f"  {kind:<9} {label} {best[kind].seconds:6.2f} s", flush=True)
    return best


def report_built(
    best: dict[str, tuple[Fetched, Fetched]], built: dict[str, Fetched], window: int
) -> None:
    if not built:
        return
    print("  built on request (a server with SHARELOG_SESSION_ENTRIES=false):")
    for kind, ours in built.items():
        theirs = best[kind][1]
        print(
            f"    {kind:<9} {window / ours.seconds:>9,.0f} rows/s {theirs.seconds / ours.seconds:6.2f}x"
            f"   first byte {ours.first_byte * 1000:,.1f} ms"
        )


def filled(url: str, args: argparse.Namespace) -> tuple[int, str, tuple[int, int]]:
    """(account id, read key, the window) of a database filled by the generator."""
    account_id, read_key, _ = make_keys(url)
    db = Database(url)
    started = time.perf_counter()
    load(db, account_id, args.sessions, args.sessions)
    print(
        f"{db.backend}: {args.sessions:,} sessions loaded in {time.perf_counter() - started:.0f} s;"
        f" the window holds the newest {args.window:,}"
    )
    db.dispose()
    step = 365 * DAY_US // args.sessions
    return account_id, read_key, (YEAR_END_US - args.window * step, YEAR_END_US)


def measure(
    sides: tuple[Sharelog, Datasette], repeat: int, window: int, only: list[str] | None
) -> tuple[dict[str, tuple[Fetched, Fetched]], dict[str, list[bytes]]]:
    """The best of each side for each kind, and Datasette's first answers."""
    best: dict[str, tuple[Fetched, Fetched]] = {}
    reference: dict[str, list[bytes]] = {}
    ours, theirs = (side.kinds() for side in sides)
    for kind in only or list(ours):
        runs: tuple[list[Fetched], list[Fetched]] = ([], [])
        for _ in range(repeat):
            runs[0].append(timed(ours[kind]))
            runs[1].append(timed(theirs[kind]))
            if len(runs[0]) == 1:
                check(kind, runs[0][0].bodies, runs[1][0].bodies, window)
                reference[kind] = runs[1][0].bodies
            for fetched in (runs[0][-1], runs[1][-1]):
                fetched.bodies = []
        a, b = (fastest(r) for r in runs)
        best[kind] = (a, b)
        print(f"  {kind:<9} sharelog {a.seconds:6.2f} s   Datasette {b.seconds:6.2f} s", flush=True)
    return best, reference


def fastest(runs: list[Fetched]) -> Fetched:
    return Fetched(min(f.seconds for f in runs), min(f.first_byte for f in runs), [])


def postgresql_figures(
    args: argparse.Namespace, reference: dict[str, list[bytes]]
) -> tuple[dict[str, Fetched], float] | None:
    """sharelog on PostgreSQL with the same sessions, each answer checked against
    Datasette's (on the SQLite file); and the server's peak RSS."""
    if not postgres_available():
        print("postgresql: skipped, no server answers")
        return None
    with fresh_database("postgresql") as url:
        account_id, read_key, (from_us, to_us) = filled(url, args)
        headers = {"Authorization": f"Basic {read_key}"}
        with (
            running_server(url) as (base, process),
            httpx.Client(base_url=base, headers=headers, timeout=600) as http,
        ):
            render_s = read_once(http, url, account_id)
            print(f"  postgresql: the server wrote the entries ahead in {render_s:.1f} s")
            kinds = Sharelog(http, from_us, to_us, args.page).kinds()
            best = sharelog_alone(kinds, reference, args, "sharelog on PostgreSQL")
            return best, peak_rss_mb(process.pid)


def report(
    best: dict[str, tuple[Fetched, Fetched]],
    rss: tuple[float, float],
    window: int,
    on_postgresql: tuple[dict[str, Fetched], float] | None,
) -> None:
    print(f"\n{window:,} sessions, best of each; ratio = sharelog's rate / Datasette's")
    print(f"  {'':<9} {'sharelog':>16} {'Datasette':>16} {'ratio':>7} {'target':>14}", end="")
    print("   sharelog on PostgreSQL" if on_postgresql else "")
    for kind, (a, b) in best.items():
        ratio = b.seconds / a.seconds
        target = TARGETS[kind]
        verdict = (
            "" if target is None else f">= {target:.1f}x {'met' if ratio >= target else 'MISSED'}"
        )
        line = (
            f"  {kind:<9} {window / a.seconds:>9,.0f} rows/s {window / b.seconds:>9,.0f} rows/s "
            f"{ratio:6.2f}x  {verdict:<14}"
        )
        if on_postgresql:
            pg = on_postgresql[0][kind]
            line += f" {window / pg.seconds:>9,.0f} rows/s {b.seconds / pg.seconds:6.2f}x"
        print(line.rstrip())
    print("  time to first byte (best):")
    for kind, (a, b) in best.items():
        verdict = "met" if a.first_byte < b.first_byte else "MISSED"
        line = f"    {kind:<9} {a.first_byte * 1000:>9,.1f} ms     {b.first_byte * 1000:>9,.1f} ms"
        line += f"          below: {verdict:<6}"
        if on_postgresql:
            line += f"   {on_postgresql[0][kind].first_byte * 1000:>9,.1f} ms"
        print(line.rstrip())
    verdict = "met" if rss[0] < rss[1] else "MISSED"
    line = f"  peak RSS   {rss[0]:>9,.0f} MB     {rss[1]:>9,.0f} MB          below: {verdict:<6}"
    print((line + (f"   {on_postgresql[1]:>9,.0f} MB" if on_postgresql else "")).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=150_000, help="in the file")
    parser.add_argument("--window", type=int, default=70_000, help="sessions asked for")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best taken")
    parser.add_argument("--page", type=int, default=1000, help="page size for paging")
    parser.add_argument("--only", nargs="*", choices=sorted(TARGETS), help="just these kinds")
    parser.add_argument("--datasette", help="the datasette executable (default: beside python)")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "both"),
        default="both",
        help="both: sharelog on PostgreSQL too (same sessions; Datasette serves SQLite only)",
    )
    args = parser.parse_args()
    if not 0 < args.window <= args.sessions:
        parser.error("--window must be between 1 and --sessions")
    os.environ.setdefault("SHARELOG_LOG_LEVEL", "warning")
    run(args)


if __name__ == "__main__":
    main()
