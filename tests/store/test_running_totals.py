"""Usage's stats from the agents' running totals (SQLite) are exactly the window's
sessions counted one by one, whatever writes came before: rows added, ended,
moved, given to another agent, deleted (oldest first or not), many in one
statement or one transaction, and writes made outside ``Database.writing``
(left unsettled). On PostgreSQL the same stats come from the aggregate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select, update

from sharelog.domain import UsageQuery
from sharelog.store import running_totals
from sharelog.store.database import Database
from sharelog.store.driver import fetch
from sharelog.store.running_totals import window_totals
from sharelog.store.schema import sessions, totals_stale
from sharelog.store.usage_stats import usage_stats
from tests.conftest import make_tenant
from tests.store.totals_history import (  # noqa: F401  (totals_for_any_window: a fixture)
    AGENTS,
    IDS,
    NAMES,
    NOW,
    STARTS,
    Many,
    Put,
    S,
    apply,
    counted,
    last_sessions,
    summaries,
    totals_for_any_window,
)

starts = st.sampled_from(STARTS)
ends = st.none() | st.integers(-2 * S, 400 * S).map(lambda d: d + 250_000)


ops = st.one_of(
    st.builds(
        Put,
        st.sampled_from(IDS),
        st.sampled_from(AGENTS),
        starts | st.none(),
        ends,
    ),
    st.builds(
        Many,
        st.sampled_from(
            ["delete", "delete_before", "end_all", "shift", "reassign", "delete_agent"]
        ),
        st.sampled_from(AGENTS),
        st.sampled_from(AGENTS),
        starts,
    ),
)
# Each inner list is one transaction; the flag: made outside Database.writing.
transactions = st.lists(
    st.tuples(st.lists(ops, min_size=1, max_size=4), st.booleans()), min_size=1, max_size=6
)
windows = st.tuples(
    st.sampled_from([*STARTS, STARTS[0] - S, STARTS[-1] + S, STARTS[2] + 1]),
    st.sampled_from([*STARTS, STARTS[-1] + S, STARTS[3] + 1]),
    st.sampled_from([(), (AGENTS[0],), (AGENTS[1], AGENTS[2]), ("nobody@x.io",)]),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=transactions, asked=st.lists(windows, min_size=1, max_size=4))
def test_stats_from_running_totals_count_every_session(
    db: Database, history: list[tuple[list[Any], bool]], asked: list[Any]
) -> None:
    account_id = make_tenant(db, f"t{next(NAMES)}").account_id
    for statements, outside in history:
        if outside:
            with db.engine.begin() as conn:
                for op in statements:
                    apply(conn, account_id, op)
        else:
            with db.writing(account_id) as conn:
                for op in statements:
                    apply(conn, account_id, op)
        with db.reading() as conn:
            stale = conn.execute(
                select(totals_stale.c.agent).where(totals_stale.c.account_id == account_id)
            ).all()
            # Settled by every write through Database.writing; left by the others.
            if not outside:
                assert stale == []
                assert summaries(conn, account_id) == last_sessions(conn, account_id)
            for low, high, agents in asked:
                if low >= high:
                    continue
                query = UsageQuery(low, high, agents, NOW)
                fast = window_totals(conn, account_id, query)
                assert (fast is not None) == (db.is_sqlite and not stale)
                stats = usage_stats(conn, account_id, query)
                assert stats.as_json() == counted(conn, account_id, query)
                going_on = conn.execute(
                    select(sessions.c.id).where(
                        sessions.c.account_id == account_id,
                        sessions.c.end_us.is_(None),
                        sessions.c.start_us >= low,
                        sessions.c.start_us < high,
                        *([sessions.c.agent.in_(agents)] if agents else []),
                    )
                ).all()
                assert stats.ongoing == len(going_on)


def test_a_write_through_the_database_settles_what_an_outside_write_left(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    account_id = make_tenant(db, "outside").account_id
    query = UsageQuery(STARTS[0], STARTS[-1] + S, (), NOW)
    with db.engine.begin() as conn:
        apply(conn, account_id, Put("a-1", AGENTS[0], STARTS[1], 30 * S))
    with db.reading() as conn:
        assert window_totals(conn, account_id, query) is None
        assert usage_stats(conn, account_id, query).total.seconds == 30
    with db.writing(account_id) as conn:
        apply(conn, account_id, Put("B", AGENTS[0], STARTS[0], 10 * S))
    with db.reading() as conn:
        assert window_totals(conn, account_id, query) == [(AGENTS[0], 2, 40)]


def test_a_deleted_session_tied_on_start_with_an_earlier_id_is_not_the_first(
    sqlite_db: Database,
) -> None:
    """Sessions of one start run in id order: deleting "a-1" after "A1" (code point
    order) leaves a gap the later totals must close."""
    db = sqlite_db
    account_id = make_tenant(db, "ties").account_id
    with db.writing(account_id) as conn:
        for sid, start in (("A1", STARTS[0]), ("a-1", STARTS[0]), ("Z", STARTS[1])):
            apply(conn, account_id, Put(sid, AGENTS[0], start, 10 * S))
    with db.writing(account_id) as conn:
        conn.execute(delete(sessions).where(sessions.c.id == "a-1"))
    query = UsageQuery(STARTS[0], STARTS[2], (), NOW)
    with db.reading() as conn:
        assert window_totals(conn, account_id, query) == [(AGENTS[0], 2, 20)]


def test_an_agent_whose_last_session_goes_leaves_no_row(sqlite_db: Database) -> None:
    """Its only session deleted (no session precedes it, none follows): the trigger
    notes it all the same, and the agent's summary goes with it."""
    account_id = make_tenant(sqlite_db, "gone").account_id
    with sqlite_db.writing(account_id) as conn:
        apply(conn, account_id, Put("A1", AGENTS[0], STARTS[0], 5 * S))
        apply(conn, account_id, Put("B", AGENTS[1], STARTS[1], 7 * S))
    with sqlite_db.writing(account_id) as conn:
        conn.execute(delete(sessions).where(sessions.c.id == "A1"))
    with sqlite_db.reading() as conn:
        assert summaries(conn, account_id) == {AGENTS[1]: (STARTS[1], 1, 7)}


def test_a_later_end_of_an_ended_session_replaces_its_seconds(sqlite_db: Database) -> None:
    """Events keep a session's latest end: the totals take the new length, not both."""
    account_id = make_tenant(sqlite_db, "ends").account_id
    query = UsageQuery(STARTS[0], STARTS[-1] + S, (), NOW)
    for end_after in (None, 12 * S, 30 * S):
        with sqlite_db.writing(account_id) as conn:
            apply(conn, account_id, Put("A1", AGENTS[0], STARTS[0], 5 * S))
            apply(conn, account_id, Put("B", AGENTS[0], STARTS[1], end_after))
    with sqlite_db.reading() as conn:
        assert window_totals(conn, account_id, query) == [(AGENTS[0], 2, 35)]


def test_totals_missing_from_a_row_send_the_stats_to_the_aggregate(sqlite_db: Database) -> None:
    """Rows whose totals were cleared behind the triggers' back (a hand edit, a
    restore of old rows) still give the stats the contract defines."""
    account_id = make_tenant(sqlite_db, "cleared").account_id
    query = UsageQuery(STARTS[0], STARTS[-1] + S, (), NOW)
    with sqlite_db.writing(account_id) as conn:
        apply(conn, account_id, Put("A1", AGENTS[0], STARTS[0], 5 * S))
        apply(conn, account_id, Put("B", AGENTS[0], STARTS[1], None))
    with sqlite_db.engine.begin() as conn:
        conn.execute(update(sessions).values(run_meetings=None, run_seconds=None))
    with sqlite_db.reading() as conn:
        assert window_totals(conn, account_id, query) == [(AGENTS[0], None, None)]
        stats = usage_stats(conn, account_id, query)
        assert stats.as_json() == counted(conn, account_id, query)
        assert stats.ongoing == 1


def test_a_small_window_or_an_account_of_many_agents_is_aggregated(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = make_tenant(sqlite_db, "few").account_id
    query = UsageQuery(STARTS[0], STARTS[-1] + S, (), NOW)
    with sqlite_db.writing(account_id) as conn:
        apply(conn, account_id, Put("A1", AGENTS[0], STARTS[0], 5 * S))
        apply(conn, account_id, Put("B", AGENTS[1], STARTS[1], 7 * S))
    with sqlite_db.reading() as conn:
        assert window_totals(conn, account_id, query) == [(AGENTS[0], 1, 5), (AGENTS[1], 1, 7)]
        monkeypatch.setattr(running_totals, "MAX_AGENTS", 1)
        assert window_totals(conn, account_id, query) is None
        filtered = UsageQuery(STARTS[0], STARTS[-1] + S, (AGENTS[1],), NOW)
        assert window_totals(conn, account_id, filtered) == [(AGENTS[1], 1, 7)]
        monkeypatch.setattr(running_totals, "MAX_AGENTS", 2)
        # Two sessions of two agents: fewer than two an agent.
        monkeypatch.setattr(running_totals, "SESSIONS_PER_AGENT", 2)
        assert window_totals(conn, account_id, query) is None
        assert window_totals(conn, account_id, filtered) == [(AGENTS[1], 1, 7)]
        monkeypatch.setattr(running_totals, "SESSIONS_PER_AGENT", 1)
        assert window_totals(conn, account_id, query) is not None
        monkeypatch.setattr(running_totals, "SMALL_WINDOW", 3)  # more than the window holds
        assert window_totals(conn, account_id, query) is None
        assert usage_stats(conn, account_id, query).as_json() == counted(conn, account_id, query)


def test_the_totals_read_each_agents_two_rows_by_rowid_and_nothing_else(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan that makes the totals cheap: the two seeks an agent, then the two
    rows by rowid; no Bloom filter and no scan over the account's sessions (what
    a plain join planned)."""
    account_id = make_tenant(sqlite_db, "plan").account_id
    with sqlite_db.writing(account_id) as conn:
        for n, start in enumerate(STARTS):
            apply(conn, account_id, Put(f"s{n}", AGENTS[n % 3], start, 5 * S))
    statements: list[tuple[str, Any]] = []

    def kept(conn: Connection, sql: str, params: Any = ()) -> Any:
        statements.append((sql, params))
        return fetch(conn, sql, params)

    monkeypatch.setattr(running_totals, "fetch", kept)
    query = UsageQuery(STARTS[1], STARTS[-1] + S, (), NOW)
    with sqlite_db.reading() as conn:
        # Code point order: "Cy@x.io" first.
        assert window_totals(conn, account_id, query) == [
            (AGENTS[2], 2, 10),
            (AGENTS[0], 1, 5),
            (AGENTS[1], 2, 10),
        ]
        sql, params = statements[-1]
        plan = [row[3] for row in fetch(conn, f"EXPLAIN QUERY PLAN {sql}", params)]
    assert sum("USING INTEGER PRIMARY KEY" in step for step in plan) == 2
    assert sum("ix_sessions_account_agent_start" in step for step in plan) == 2
    assert not [step for step in plan if "BLOOM" in step or step.startswith("SCAN s")]
