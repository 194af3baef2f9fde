"""Migration 0005 drops the ``agents`` table, which nothing read; an account's
agents are its sessions' ``agent`` values, and a downgrade rebuilds the table
from them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from sharelog.store import migrate
from sharelog.store.schema import metadata
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_reason


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on either backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    reason = _postgres_reason()
    if reason is not None:
        pytest.skip(reason)
    name = f"sharelog_0005_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_0005_drops_agents_and_a_downgrade_rebuilds_it_from_the_sessions(empty_url: str) -> None:
    engine = create_engine(empty_url)
    migrate.upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'old', 0)"))
        conn.execute(
            text("INSERT INTO agents (account_id, email, first_seen_us) VALUES (1, 'a@x.io', 5)")
        )
        for sid, agent, updated in (("s-1", "a@x.io", 7), ("s-2", "a@x.io", 9), ("s-3", None, 3)):
            conn.execute(
                text(
                    "INSERT INTO sessions (account_id, id, agent, updated_us) "
                    "VALUES (1, :id, :agent, :updated)"
                ),
                {"id": sid, "agent": agent, "updated": updated},
            )

    migrate.upgrade(engine)
    assert "agents" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar() == 3
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []

    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
        conn.commit()
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT account_id, email, first_seen_us FROM agents")).all()
    assert [tuple(r) for r in rows] == [(1, "a@x.io", 7)]
    engine.dispose()
