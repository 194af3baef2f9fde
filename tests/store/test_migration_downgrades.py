"""Downgrades that drop or rename columns of `accounts` and `sessions` (0009, 0008,
0007, 0002) keep every row."""

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
        ("0008", {"feed_read_us", "usage_read_us", "rendered_bodies"}, {"session_entries"}),
        ("0007", {"read_us", "usage_read_us", "rendered_bodies"}, {"feed_entries"}),
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
    # The read mark under its name at that revision (renamed, never lost).
    read_mark = {"0008": "read_us", "0007": "feed_read_us"}.get(target)
    assert read_mark is None or read_mark in columns
    entries = {"feed_entries", "session_entries"} & set(inspect(engine).get_table_names())
    assert entries == tables
    with engine.connect() as conn:
        for table in ("accounts", "api_keys", "sessions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1, table
    engine.dispose()


def test_0009_keeps_an_accounts_latest_read_both_ways(empty_url: str) -> None:  # noqa: F811
    engine = make_engine(empty_url)
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(
            text("INSERT INTO accounts (id, name, created_us, read_us) VALUES (1, 'a', 0, 7)")
        )
        command.upgrade(config, "0009")
        marks = conn.execute(text("SELECT feed_read_us, usage_read_us FROM accounts")).one()
        assert tuple(marks) == (7, 7)  # an earlier read counts as both
        # Downgraded, read_us is the later of the two marks, whichever is null.
        for feed, usage, kept in ((None, 9, 9), (5, None, 5), (5, 9, 9), (9, 5, 9)):
            conn.execute(
                text("UPDATE accounts SET feed_read_us = :f, usage_read_us = :u"),
                {"f": feed, "u": usage},
            )
            command.downgrade(config, "0008")
            assert conn.execute(text("SELECT read_us FROM accounts")).scalar_one() == kept
            command.upgrade(config, "0009")
        conn.commit()
    engine.dispose()
