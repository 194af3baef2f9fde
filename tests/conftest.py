"""Fixtures: a real database per test (SQLite file or PostgreSQL), the real app, real keys.

Every test that takes ``db`` runs once on SQLite and once on PostgreSQL. The
PostgreSQL half needs a server (``SHARELOG_TEST_POSTGRES_URL``, default the
local one): without it those tests skip with the reason, except under
``CI=true``, where they fail loudly.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store import migrate
from sharelog.store.database import Database
from sharelog.store.schema import metadata
from sharelog.timestamps import now_us

POSTGRES_ADMIN_URL = os.environ.get(
    "SHARELOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is the slow part)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of its own for this test run (and this xdist worker), dropped at the end."""
    reason = _postgres_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL is missing: {reason}", pytrace=False)
        pytest.skip(reason)
    name = f"sharelog_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(db: Database) -> None:
    names = ", ".join(t.name for t in reversed(metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "sharelog.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    if database.backend == "postgresql":
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """For tests about SQLite itself."""
    path = tmp_path / "sharelog.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@dataclass
class Tenant:
    account_id: int
    read_key: str
    write_key: str


def make_tenant(db: Database, name: str) -> Tenant:
    with db.writing() as conn:
        account = account_store.create_account(conn, name, now_us())
        read = account_store.create_key(conn, account.id, Scope.READ, now_us())
        write = account_store.create_key(conn, account.id, Scope.WRITE, now_us())
    return Tenant(account.id, read, write)


@pytest.fixture
def tenant_on_sqlite(sqlite_db: Database) -> Tenant:
    return make_tenant(sqlite_db, "acme")


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db, "acme")


@pytest.fixture
def other_tenant(db: Database) -> Tenant:
    return make_tenant(db, "globex")


@pytest.fixture
def settings(db: Database) -> Settings:
    # No background renderer of sessions' entries: its statements would land in
    # the middle of tests that count a request's. tests/store/test_session_entries.py
    # renders when it wants, and runs the thread on its own.
    return Settings(database_url=db.url, session_entries=False)


@pytest.fixture
def client(db: Database, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, database=db)
    # A loopback peer, as a local client is (/metrics answers only such without a token).
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as test_client:
        yield test_client


class Api:
    """The test client with a tenant's keys: ``api.get(path, ...)`` reads, ``api.post`` writes."""

    def __init__(self, client: TestClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Basic {self.tenant.read_key}", **kwargs.pop("headers", {})}
        return self.client.request("GET", path, headers=headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Basic {self.tenant.write_key}", **kwargs.pop("headers", {})}
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def usage(self, **params: object) -> dict[str, Any]:
        response = self.get("/ss/api/usage", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def import_sessions(self, *sessions: dict[str, Any]) -> dict[str, Any]:
        response = self.post("/ss/api/sessions", json={"sessions": list(sessions)})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(client: TestClient, tenant: Tenant) -> Api:
    return Api(client, tenant)


def session_body(
    sid: str = "s-1",
    agent: str = "alice@example.com",
    start: str = "2026-11-02T10:00:00Z",
    end: str | None = "2026-11-02T10:30:00Z",
    **extra: object,
) -> dict[str, object]:
    return {"id": sid, "agent": agent, "start": start, "end": end, **extra}
