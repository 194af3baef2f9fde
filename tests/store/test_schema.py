"""The schema: what the migrations build is exactly ``store/schema.py``, and durability
settings are what the code promises, checked on the live connections."""

from __future__ import annotations

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from sharelog.config import Settings
from sharelog.store.database import Database
from sharelog.store.schema import metadata


def test_the_migrations_build_exactly_the_schema(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    # Alembic's own bookkeeping table is the one thing the models do not describe.
    differences = [d for d in differences if "alembic_version" not in repr(d)]
    assert differences == []


def test_sqlite_commits_are_durable(sqlite_db: Database) -> None:
    with sqlite_db.writing() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # 2 is FULL: a commit is on disk before it is acknowledged.
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with sqlite_db.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_sqlite_reads_through_a_mapping_only_when_one_is_set(sqlite_db: Database) -> None:
    with sqlite_db.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0
    limits = Settings(sqlite_mmap_bytes=64 * 1024 * 1024).database_limits()
    mapped = Database(sqlite_db.url, limits=limits)
    try:
        with mapped.reading() as conn:
            assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 64 * 1024 * 1024
    finally:
        mapped.dispose()


def test_sqlite_binds_none_and_bools_as_it_always_did(sqlite_db: Database) -> None:
    # store/database.py registers adapters for None and bool, to bind them
    # sooner: NULL stays NULL, and a bool is still the integer 1 or 0.
    with sqlite_db.writing() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE bound (a, b, c)")
        cursor = conn.connection.cursor()
        cursor.executemany("INSERT INTO bound VALUES (?, ?, ?)", [(None, True, False)] * 2)
        rows = conn.exec_driver_sql("SELECT a, typeof(a), b, typeof(b), c FROM bound").all()
    assert [tuple(r) for r in rows] == [(None, "null", 1, "integer", 0)] * 2


def test_postgres_commits_are_durable(postgres_url: str) -> None:
    db = Database(postgres_url)
    with db.writing() as conn:
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() in ("on", "remote_apply")
        assert conn.exec_driver_sql("SHOW fsync").scalar() == "on"
    db.dispose()


def test_a_failed_query_logs_no_parameters(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    secret = "alice-secret@example.com"
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(IntegrityError) as raised,
        db.writing() as conn,
    ):
        conn.execute(
            text("INSERT INTO accounts (id, name, created_us) VALUES (:i, :n, 0)"),
            [{"i": 999, "n": secret}, {"i": 999, "n": secret}],
        )
    assert secret not in str(raised.value)
    assert secret not in caplog.text
