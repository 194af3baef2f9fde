"""Past one machine: a read replica for every GET, and migrations that run once under contention."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.domain import SessionIn
from sharelog.store import migrate
from sharelog.store import sessions as session_store
from sharelog.store.database import Database
from tests.conftest import POSTGRES_ADMIN_URL, Api, make_tenant, session_body


@pytest.fixture
def replica(db: Database, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A second, empty database of the same backend standing in for a replica."""
    if db.is_sqlite:
        path = tmp_path / "replica.db"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite:///{path}")
        yield database
        database.dispose()
        return
    name = f"sharelog_replica_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    migrate.upgrade(database.engine)
    yield database
    database.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_every_get_reads_the_replica_and_writes_go_to_the_primary(
    db: Database, replica: Database
) -> None:
    tenant = make_tenant(db, "acme")
    # The replica has the same account (as replication would) but other sessions.
    replica_tenant = make_tenant(replica, "acme")
    assert replica_tenant.account_id == tenant.account_id
    with replica.writing() as conn:
        session_store.import_sessions(
            conn,
            tenant.account_id,
            [
                SessionIn(
                    id="on-replica",
                    agent="r@example.com",
                    start_us=1_793_613_600_000_000,
                    end_us=None,
                )
            ],
            0,
        )
    settings = Settings(database_url=db.url, read_database_url=replica.url)
    primary_only = Database(db.url, read_url=replica.url)
    with TestClient(create_app(settings, database=primary_only)) as client:
        api = Api(client, tenant)
        api.import_sessions(session_body("on-primary"))
        window = {"from": "2026-11-01", "to": "2026-11-03"}
        assert [s["id"] for s in api.usage(**window)["sessions"]] == ["on-replica"]
        assert api.get("/ss/api/sessions/on-replica").status_code == 200
        assert api.get("/ss/api/sessions/on-primary").status_code == 404
    primary_only.dispose()
    with db.reading() as conn:
        assert conn.execute(text("SELECT id FROM sessions")).scalars().all() == ["on-primary"]


def test_concurrent_upgrades_apply_the_migrations_once(postgres_url: str) -> None:
    name = f"sharelog_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            migrate.upgrade(engine)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=upgrade) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
