"""What the benchmarks share: a real server in a subprocess, fresh databases, a timer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import create_engine, select, text

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store import migrate
from sharelog.store.database import Database
from sharelog.store.schema import accounts
from sharelog.timestamps import now_us

POSTGRES_ADMIN_URL = os.environ.get(
    "SHARELOG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """A new, migrated, empty database URL, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="sharelog-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            db = Database(url)
            migrate.upgrade(db.engine)
            db.dispose()
            yield url
        return
    name = f"sharelog_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = create_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def make_keys(url: str, account: str = "bench") -> tuple[int, str, str]:
    """(account id, read key, write key) of a new account."""
    db = Database(url)
    with db.writing() as conn:
        acct = account_store.create_account(conn, account, now_us())
        read = account_store.create_key(conn, acct.id, Scope.READ, now_us())
        write = account_store.create_key(conn, acct.id, Scope.WRITE, now_us())
    db.dispose()
    return acct.id, read, write


@contextmanager
def running_server(
    url: str, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``sharelog serve`` on a free loopback port (``env``: more of its environment);
    yields (base URL, process)."""
    port = free_port()
    env = {
        **os.environ,
        "SHARELOG_DATABASE_URL": url,
        "SHARELOG_LOG_LEVEL": "warning",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sharelog", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def fetch(http: httpx.Client, url: str, params: Any) -> tuple[float, bytes, httpx.Headers]:
    """(seconds to the body's first byte, the body, the headers), the body read whole."""
    began = time.perf_counter()
    first = 0.0
    parts = []
    with http.stream("GET", url, params=params) as response:
        if response.status_code != 200:
            response.read()
            raise SystemExit(f"GET {response.url}: {response.status_code} {response.text[:500]}")
        for chunk in response.iter_raw():
            if not first:
                first = time.perf_counter() - began
            parts.append(chunk)
    return first, b"".join(parts), response.headers


def next_cursor_of(page: bytes) -> str | None:
    """A usage page's ``next_cursor``, its last member: found without parsing the page
    (a client timed on bytes received, as the whole document is)."""
    cursor: str | None = orjson.loads(page[page.rindex(b'"next_cursor":') + 14 : -1])
    return cursor


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def row(label: str, count: int, seconds: float, unit: str, baseline: float | None = None) -> str:
    rate = count / seconds if seconds else float("inf")
    ratio = f"  {rate / baseline:6.1%} of baseline" if baseline else ""
    return f"  {label:<44} {rate:>12,.0f} {unit}/s  ({seconds:6.2f} s){ratio}"


def rendered_after(url: str, account_id: int, timeout: float = 600) -> float:
    """Seconds until the server's renderer has made every entry (``rendered_seq``)."""
    db = Database(url)
    try:
        with Timer() as t:
            while True:
                with db.reading() as conn:
                    behind = conn.execute(
                        select(accounts.c.last_seq - accounts.c.rendered_seq).where(
                            accounts.c.id == account_id
                        )
                    ).scalar_one()
                if behind == 0:
                    break
                if t.elapsed() > timeout:
                    raise SystemExit("the server did not write the sessions' entries")
                time.sleep(0.05)
    finally:
        db.dispose()
    return t.seconds
