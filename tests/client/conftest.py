"""One real sharelog server for the module, with two accounts and sessions in one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sharelog.store.database import Database
from tests.conftest import Tenant, make_tenant, session_body
from tests.servers import ServerProcess

SESSIONS = [
    session_body(
        f"s-{i}",
        agent=f"agent{i % 2}@example.com",
        start=f"2026-11-0{2 + i % 3}T10:{i:02d}:00Z",
        end=f"2026-11-0{2 + i % 3}T11:00:00Z",
        shares=[
            {
                "at": f"2026-11-0{2 + i % 3}T10:{i:02d}:05Z",
                "type": "tab",
                "title": "Pricing",
                "url": "https://x.io",
            }
        ],
        viewers=[
            {
                "id": "v-1",
                "joined": f"2026-11-0{2 + i % 3}T10:{i:02d}:10Z",
                "location": {"country": "IS", "city": "Reykjavik"},
            },
            {
                "id": "v-2",
                "joined": f"2026-11-0{2 + i % 3}T10:{i:02d}:20Z",
                "left": "2026-11-05T00:00:00Z",
            },
        ],
    )
    for i in range(7)
]
WINDOW = {"from_": "2026-11-01", "to": "2026-11-10"}


@dataclass
class Live:
    url: str
    source: Tenant
    target: Tenant
    db: Database


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Live]:
    path = tmp_path_factory.mktemp("client") / "client.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    source, target = make_tenant(db, "source"), make_tenant(db, "target")
    server = ServerProcess(db.url)
    import httpx

    httpx.post(
        f"{server.url}/ss/api/sessions",
        json={"sessions": SESSIONS},
        headers={"Authorization": f"Basic {source.write_key}"},
    ).raise_for_status()
    yield Live(server.url, source, target, db)
    server.stop()
    db.dispose()
