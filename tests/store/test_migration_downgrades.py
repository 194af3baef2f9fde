"""Downgrades that drop or rename columns of `accounts` and `sessions` (0008, 0007,
0002) keep every row."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from sharelog.store import migrate
from sharelog.store.database import make_engine
from tests.store.test_migration_0005 import empty_url  # noqa: F401  (a fixture)


@pytest.mark.parametrize(
    ("target", "gone", "tables"),
    [
        ("0007", {"read_us"}, {"feed_entries"}),
        ("0006", {"rendered_seq", "rendered_version", "feed_read_us", "read_us"}, set()),
        ("0001", {"last_seq", "pruned_seq", "retention_days"}, set()),
    ],
)
def test_a_downgrade_keeps_every_account_key_and_session(
    empty_url: str,  # noqa: F811
    target: str,
    gone: set[str],
    tables: set[str],
) -> None:
    # The service's own engine: on SQLite it enforces foreign keys, so a table
    # rebuilt by dropping `accounts` would cascade into its sessions and keys.
    engine = make_engine(empty_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'a', 0)"))
        conn.execute(
            text(
                "INSERT INTO api_keys (account_id, prefix, key_hash, scope, created_us) "
                "VALUES (1, 'slk_abcd', 'h', 'read', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO sessions (account_id, id, agent, updated_us) "
                "VALUES (1, 's', 'a@x.io', 1)"
            )
        )
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, target)
        conn.commit()
    columns = {c["name"] for c in inspect(engine).get_columns("accounts")}
    assert gone.isdisjoint(columns)
    entries = {"feed_entries", "session_entries"} & set(inspect(engine).get_table_names())
    assert entries == tables
    with engine.connect() as conn:
        for table in ("accounts", "api_keys", "sessions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1, table
    engine.dispose()
