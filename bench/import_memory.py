"""A large file through ``sharelog import``: the client's peak memory and its time.

    python -m bench.import_memory [--gigabytes 2] [--form ndjson|array|both]

Writes a file of sessions of about 2 KB each (six shares with long titles,
four located viewers) as NDJSON or as one JSON array, then imports it with
``sharelog import --url ... --key ... FILE`` into a real ``sharelog serve``
on a fresh SQLite file. The client runs in a process of its own and reports
its peak resident memory (VmHWM). Target (issue 18): a 2 GB file with the
client's peak RSS under 150 MB. The file needs the free disk space of its
size, and the database about as much again.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench._common import fresh_database, make_keys, running_server

TARGET_MB = 150
START = 1_780_000_000  # Unix seconds, 2026-05-28
# The client, reporting its VmHWM however it ends (getrusage's ru_maxrss would
# survive exec, so a child of a large process could report its parent's size).
CLIENT = (
    "import sys\n"
    "from sharelog.cli.main import app\n"
    "try:\n"
    "    app(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "    print('peak_kb', hwm.split()[1])\n"
)


def session(i: int) -> dict[str, Any]:
    start = START + i * 30
    return {
        "id": f"s-{i}",
        "agent": f"agent{i % 500}@example.com",
        "start": start,
        "end": start + 1800,
        "shares": [
            {
                "at": start + 5 * k,
                "type": "tab",
                "title": f"Page {k} " + "x" * 150,
                "url": f"https://example.com/{i}/{k}",
            }
            for k in range(6)
        ],
        "viewers": [
            {
                "id": f"v-{v}",
                "joined": start + 10 + v,
                "left": start + 1700,
                "location": {"country": "IS", "region": "Capital Region", "city": "Reykjavik"},
            }
            for v in range(4)
        ],
    }


def write_file(path: Path, form: str, size: int) -> int:
    """Sessions until the file holds ``size`` bytes; how many."""
    count = written = 0
    with path.open("wb") as out:
        if form == "array":
            written += out.write(b"[")
        while written < size:
            row = orjson.dumps(session(count))
            if form == "ndjson":
                row += b"\n"
            elif count:
                row = b"," + row
            written += out.write(row)
            count += 1
        if form == "array":
            out.write(b"]")
    return count


def import_file(path: Path, count: int) -> tuple[float, float]:
    """(seconds, the client's peak RSS in MB) of importing the file."""
    with fresh_database("sqlite") as url:
        _, _, key = make_keys(url)
        with running_server(url) as (base, _process):
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CLIENT, "import", "--url", base, "--key", key, str(path)],
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - began
    output = done.stdout + done.stderr
    if done.returncode or f"imported {count:,} sessions" not in output:
        raise SystemExit(f"the import failed:\n{output[-2000:]}")
    return seconds, int(output.split("peak_kb")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--form", choices=("ndjson", "array", "both"), default="both")
    args = parser.parse_args()
    forms = ["ndjson", "array"] if args.form == "both" else [args.form]
    for form in forms:
        with tempfile.TemporaryDirectory(prefix="sharelog-import-") as folder:
            path = Path(folder) / f"sessions.{form}"
            count = write_file(path, form, int(args.gigabytes * 1e9))
            size = path.stat().st_size
            seconds, peak_mb = import_file(path, count)
        verdict = "met" if peak_mb < TARGET_MB else "MISSED"
        print(
            f"{form:<6} {size / 1e9:.2f} GB, {count:,} sessions imported in {seconds:,.0f} s "
            f"({count / seconds:,.0f}/s); client peak RSS {peak_mb:,.0f} MB "
            f"(target < {TARGET_MB} MB: {verdict})",
            flush=True,
        )


if __name__ == "__main__":
    main()
