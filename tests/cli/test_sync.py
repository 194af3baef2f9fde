"""``sharelog sync``: a local copy kept exact through the change feed, killed and resumed."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.conftest import Tenant, make_tenant
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

WINDOWS = [
    ("2026-10-01", "2026-12-01"),
    ("2026-11-02", "2026-11-03"),
    ("2026-11-02T10:30:00Z", "2026-11-04T12:00:00Z"),
    ("2026-11-05", "2026-11-09"),
]


def session(i: int, rng: random.Random) -> dict[str, Any]:
    day = 2 + i % 6
    return {
        "id": f"s-{i}",
        "agent": f"agent{i % 4}@example.com",
        "start": f"2026-11-0{day}T10:{i % 60:02d}:00.{rng.randrange(10**6):06d}Z",
        "end": None if i % 5 == 0 else f"2026-11-0{day}T11:{i % 60:02d}:00Z",
        "shares": [
            {"at": f"2026-11-0{day}T10:{i % 60:02d}:05Z", "type": "tab", "title": f"t{i}"},
            {"at": f"2026-11-0{day}T10:{i % 60:02d}:05Z", "type": "screen", "url": "https://x.io"},
        ],
        "viewers": [
            {
                "id": f"v-{j}",
                "joined": f"2026-11-0{day}T10:{i % 60:02d}:1{j}Z",
                "left": None if j == 0 else f"2026-11-0{day}T10:{i % 60:02d}:3{j}Z",
                "location": {"country": "IS", "city": "Reykjavik"} if j % 2 else None,
            }
            for j in range(i % 4)
        ],
    }


class Writer:
    """Imports, events and deletions from one client, as a product would send them."""

    def __init__(self, url: str, key: str, seed: int) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Basic {key}"})
        self.rng = random.Random(seed)
        self.seed = seed

    def step(self, n: int) -> None:
        i = self.rng.randrange(60)
        roll = self.rng.random()
        if roll < 0.4:
            body = {"sessions": [session(i, self.rng), session(i + 60, self.rng)]}
            assert self.http.post("/ss/api/sessions", json=body).status_code == 200
        elif roll < 0.85:
            sid = f"s-{i}"
            events = [
                {
                    "id": f"w{self.seed}-{n}-{k}",
                    "type": kind,
                    "session": sid,
                    "at": f"2026-11-0{2 + i % 6}T10:{k:02d}:00Z",
                    **extra,
                }
                for k, (kind, extra) in enumerate(
                    [
                        ("session.started", {"agent": "late@example.com"}),
                        ("viewer.joined", {"viewer": f"e{n}"}),
                        ("share.started", {"share_type": "window"}),
                        ("session.ended", {}),
                    ]
                )
            ]
            assert self.http.post("/ss/api/events", json={"events": events}).status_code == 200
        else:
            assert self.http.delete(f"/ss/api/sessions/s-{i}").status_code in (204, 404)


def run_sync(url: str, key: str, local: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sharelog", "sync", "--url", url, "--key", key, *extra],
        env={**os.environ, "SHARELOG_DATABASE_URL": local},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def documents(client: TestClient | httpx.Client, key: str) -> list[Any]:
    result = []
    for start, end in WINDOWS:
        response = client.get(
            "/ss/api/usage",
            params={"from": start, "to": end},
            headers={"Authorization": f"Basic {key}"},
        )
        assert response.status_code == 200, response.text
        document = response.json()
        for s in document["sessions"]:
            if s["end"] is None:  # ongoing: its duration runs with the clock
                s["duration"] = None
        if document["stats"]:
            document["stats"] = {"meetings": document["stats"]["total"]["meetings"]}
        result.append(document)
    return result


def test_a_synced_copy_equals_the_server_after_concurrent_writes_and_a_kill(
    db: Database, tmp_path: Path, sqlite_template: Path
) -> None:
    tenant: Tenant = make_tenant(db, "acme")
    server = ServerProcess(db.url)
    local_path = tmp_path / "copy.db"
    shutil.copy(sqlite_template, local_path)
    local_url = f"sqlite:///{local_path}"
    try:
        writers = [Writer(server.url, tenant.write_key, seed) for seed in range(3)]
        for n in range(20):
            writers[0].step(n)
        follower = run_sync(server.url, tenant.read_key, local_url, "--follow", "--wait", "1")

        def write(w: Writer) -> None:
            for n in range(100, 140):
                w.step(n)

        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        for t in threads:
            t.start()
        time.sleep(1.5)
        follower.send_signal(signal.SIGKILL)  # mid-way, while writes go on
        follower.wait(timeout=10)
        for t in threads:
            t.join()
        # Resume: catch up from the position the killed sync committed.
        done = run_sync(server.url, tenant.read_key, local_url)
        output = done.communicate(timeout=300)[0].decode()
        assert done.returncode == 0, output
        assert "in sync" in output

        local = Database(local_url)
        with local.writing() as conn:
            account = account_store.find_account(conn, "sync")
            local_key = account_store.create_key(conn, account.id, Scope.READ, now_us())
        app = create_app(Settings(database_url=local_url), database=local)
        with TestClient(app) as local_client, httpx.Client(base_url=server.url) as remote:
            mine = documents(local_client, local_key)
            theirs = documents(remote, tenant.read_key)
        local.dispose()
        assert sum(len(d["sessions"]) for d in theirs) > 0
        assert mine == theirs
    finally:
        server.stop()


def test_sync_refuses_a_copy_of_another_server(db: Database, tmp_path: Path) -> None:
    tenant = make_tenant(db, "acme")
    server = ServerProcess(db.url)
    local = f"sqlite:///{tmp_path / 'copy.db'}"
    try:
        first = run_sync(server.url, tenant.read_key, local)
        assert first.wait(timeout=180) == 0
        other = run_sync(server.url.replace("127.0.0.1", "localhost"), tenant.read_key, local)
        output = other.communicate(timeout=180)[0].decode()
        assert other.returncode == 2 and "copy of" in output
        bad_key = run_sync(server.url, "slk_nope", local, "--account", "other")
        assert bad_key.wait(timeout=180) == 3
    finally:
        server.stop()
