"""Migrations 0010 and 0011 on rows written before them: 0010 gives every session
its agent's running totals, 0011 each agent its ``agent_totals`` row; each
downgrade takes back what it added and keeps the sessions."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from sharelog.domain import UsageQuery
from sharelog.store import migrate
from sharelog.store.database import Database, make_engine
from sharelog.store.running_totals import window_totals
from sharelog.store.usage_stats import usage_stats
from tests.store.test_migration_0005 import empty_url  # noqa: F401  (a fixture)
from tests.store.totals_history import (  # noqa: F401  (totals_for_any_window: a fixture)
    AGENTS,
    NOW,
    STARTS,
    S,
    counted,
    last_sessions,
    summaries,
    totals_for_any_window,
)


def written_at_0009(url: str, rows: list[tuple[str, str, int, int | None]]) -> Engine:
    """A database at 0009 (no totals columns yet) holding ``rows``: (id, agent,
    start, end) of account 1's sessions."""
    engine = make_engine(url)
    migrate.upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'a', 0)"))
        for sid, agent, start, end in rows:
            conn.execute(
                text(
                    "INSERT INTO sessions (account_id, id, agent, start_us, end_us, updated_us) "
                    "VALUES (1, :i, :a, :s, :e, 1)"
                ),
                {"i": sid, "a": agent, "s": start, "e": end},
            )
    return engine


def downgrade(engine: Engine, revision: str) -> None:
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def test_migration_0010_gives_existing_sessions_their_totals_and_takes_them_back(
    empty_url: str,  # noqa: F811
) -> None:
    engine = written_at_0009(
        empty_url,
        [
            ("b", AGENTS[0], STARTS[1], STARTS[1] + 30 * S),
            ("a", AGENTS[0], STARTS[1], None),
            ("c", AGENTS[1], STARTS[0], STARTS[0] + 5 * S + 1),
            ("d", AGENTS[0], STARTS[3], STARTS[3] + 7 * S),
        ],
    )
    migrate.upgrade(engine)
    db = Database(empty_url)
    query = UsageQuery(STARTS[1], STARTS[4], (), NOW)
    with db.reading() as conn:
        assert usage_stats(conn, 1, query).as_json() == counted(conn, 1, query)
        if db.is_sqlite:
            assert window_totals(conn, 1, query) == [(AGENTS[0], 3, 37)]
    db.dispose()
    downgrade(engine, "0009")
    assert "totals_stale" not in inspect(engine).get_table_names()
    assert "run_meetings" not in {c["name"] for c in inspect(engine).get_columns("sessions")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar_one() == 4
    engine.dispose()


def test_migration_0011_summarises_each_agents_last_session_and_takes_it_back(
    empty_url: str,  # noqa: F811
) -> None:
    # Rows written at 0009: 0010 gives them their totals, 0011 its summaries.
    engine = written_at_0009(
        empty_url,
        [
            (sid, agent, start, start + 10 * S)
            for sid, agent, start in (
                ("b", AGENTS[0], STARTS[3]),
                ("a", AGENTS[0], STARTS[3]),
                ("c", AGENTS[1], STARTS[0]),
                ("d", AGENTS[0], STARTS[1]),
            )
        ],
    )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # "b" after "a": ties on start run in id order.
            expected = {AGENTS[0]: (STARTS[3], 3, 30), AGENTS[1]: (STARTS[0], 1, 10)}
            assert summaries(conn, 1) == last_sessions(conn, 1) == expected
        else:
            assert summaries(conn, 1) == {}
    downgrade(engine, "0010")
    assert "agent_totals" not in inspect(engine).get_table_names()
    if engine.dialect.name == "sqlite":
        # 0010's trigger again: an agent's only session goes unnoted.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sessions WHERE id = 'c'"))
            assert conn.execute(text("SELECT count(*) FROM totals_stale")).scalar_one() == 0
    engine.dispose()
