"""Datasette's side of bench/datasette.py: its server, the requests it answers, and the
SQL it is given (bench/datasette_sql.py)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._common import fetch, free_port


class Datasette:
    name = "Datasette"

    def __init__(self, http: httpx.Client, database: str, sql: dict[str, str], page: list[Any]):
        self.http, self.database, self.sql, self.first_page = http, database, sql, page

    def one(self, suffix: str, params: list[tuple[str, str]]) -> list[tuple[float, bytes]]:
        first, body, _ = fetch(self.http, f"/{self.database}{suffix}", params)
        return [(first, body)]

    def paging(self) -> list[tuple[float, bytes]]:
        answers = []
        url: str | None = f"/{self.database}/sessions.json"
        params: Any = self.first_page
        while url is not None:
            first, body, headers = fetch(self.http, url, params)
            answers.append((first, body))
            link = headers.get("link")
            url, params = (link[1 : link.index(">")], None) if link else (None, None)
        return answers

    def kinds(self) -> dict[str, Callable[[], list[tuple[float, bytes]]]]:
        doc = [("sql", self.sql["document"]), ("_shape", "arrayfirst"), ("_json", "session")]
        flat = self.sql["flat"]
        return {
            "document": lambda: self.one(".json", doc),
            "csv": lambda: self.one(".csv", [("sql", flat), ("_stream", "on")]),
            "ndjson": lambda: self.one(".json", [("sql", flat), ("_shape", "array")]),
            "paging": self.paging,
        }


def datasette_executable(given: str | None) -> str:
    found = given or shutil.which("datasette", path=str(Path(sys.executable).parent))
    found = found or shutil.which("datasette")
    if not found:
        raise SystemExit("no datasette: `make bench` installs it (pip install -e '.[bench]')")
    return found


@contextmanager
def datasette_server(
    executable: str, path: Path, max_rows: int
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``datasette serve`` of the file, immutable, with room for the whole window."""
    port = free_port()
    settings = {
        "sql_time_limit_ms": "600000",
        "max_returned_rows": str(max_rows),
        "allow_csv_stream": "on",
        "max_csv_mb": "0",
    }
    command = [executable, "serve", "-i", str(path), "-h", "127.0.0.1", "-p", str(port)]
    for name, value in settings.items():
        command += ["--setting", name, value]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/-/versions.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("datasette did not start")
            time.sleep(0.2)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def checkpoint(path: Path) -> None:
    """Everything into the main file: an immutable reader never looks at the WAL."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
