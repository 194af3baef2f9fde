"""Usage's stats from the agents' running totals (SQLite) are exactly the window's
sessions counted one by one, whatever writes came before: rows added, ended,
moved, given to another agent, deleted (oldest first or not), many in one
statement or one transaction, and writes made outside ``Database.writing``
(left unsettled). On PostgreSQL the same stats come from the aggregate."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, inspect, select, text, update

from sharelog.domain import UsageQuery
from sharelog.store import migrate, running_totals
from sharelog.store.database import Database, make_engine
from sharelog.store.driver import fetch
from sharelog.store.running_totals import window_totals
from sharelog.store.schema import agent_totals, sessions, totals_stale
from sharelog.store.usage_stats import usage_stats
from sharelog.timestamps import whole_seconds
from tests.conftest import make_tenant
from tests.store.test_migration_0005 import empty_url  # noqa: F401  (a fixture)

T0 = 1_793_606_400_000_000
S = 1_000_000
# Few starts, so that sessions tie on them; ends a fraction of a second apart.
STARTS = [T0 + k * 60 * S for k in range(6)]
NOW = T0 + 3_600 * S
IDS = ("a-1", "A1", "b_2", "Z", "a1", "B")
AGENTS = ("ann@x.io", "bob@x.io", "Cy@x.io")
NAMES = itertools.count()

starts = st.sampled_from(STARTS)
ends = st.none() | st.integers(-2 * S, 400 * S).map(lambda d: d + 250_000)


@pytest.fixture(autouse=True)
def totals_for_any_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """These windows hold a few sessions: the totals answer them all the same."""
    monkeypatch.setattr(running_totals, "SMALL_WINDOW", 0)
    monkeypatch.setattr(running_totals, "SESSIONS_PER_AGENT", 0)


@dataclass(frozen=True)
class Put:
    """A session written whole: inserted, or its row updated in place."""

    id: str
    agent: str | None
    start: int | None
    end_after: int | None


@dataclass(frozen=True)
class Many:
    """One statement over many rows."""

    kind: str
    agent: str
    other: str
    at: int


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


def apply(conn: Connection, account_id: int, op: Put | Many) -> None:
    mine = sessions.c.account_id == account_id
    if isinstance(op, Put):
        values = {
            "agent": op.agent if op.start is not None else None,
            "start_us": op.start,
            "end_us": None if op.start is None or op.end_after is None else op.start + op.end_after,
            "updated_us": 1,
        }
        found = conn.execute(select(sessions.c.id).where(mine, sessions.c.id == op.id)).first()
        if found is None:
            conn.execute(insert(sessions).values(account_id=account_id, id=op.id, **values))
        else:
            conn.execute(update(sessions).where(mine, sessions.c.id == op.id).values(**values))
        return
    agent = sessions.c.agent == op.agent
    if op.kind == "delete":
        conn.execute(delete(sessions).where(mine, sessions.c.id.in_(IDS[::2])))
    elif op.kind == "delete_before":  # as the retention sweep does
        conn.execute(delete(sessions).where(mine, sessions.c.start_us < op.at))
    elif op.kind == "delete_agent":
        conn.execute(delete(sessions).where(mine, agent))
    elif op.kind == "end_all":
        conn.execute(
            update(sessions)
            .where(mine, sessions.c.end_us.is_(None), sessions.c.start_us.is_not(None))
            .values(end_us=sessions.c.start_us + 90 * S + 1)
        )
    elif op.kind == "shift":
        conn.execute(
            update(sessions).where(mine, agent).values(start_us=sessions.c.start_us + 60 * S)
        )
    else:
        conn.execute(update(sessions).where(mine, agent).values(agent=op.other))


def counted(conn: Connection, account_id: int, query: UsageQuery) -> dict[str, Any]:
    """The stats as the contract defines them, session by session."""
    per_agent: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        select(sessions.c.agent, sessions.c.start_us, sessions.c.end_us).where(
            sessions.c.account_id == account_id, sessions.c.start_us.is_not(None)
        )
    ).all()
    for agent, start, end in rows:
        if not query.from_us <= start < query.to_us:
            continue
        if query.agents and agent not in query.agents:
            continue
        figures = per_agent.setdefault(agent, {"meetings": 0, "seconds": 0})
        figures["meetings"] += 1
        figures["seconds"] += whole_seconds(start, query.now_us if end is None else end)
    ordered = dict(sorted(per_agent.items()))
    return {
        "total": {
            "meetings": sum(f["meetings"] for f in ordered.values()),
            "seconds": sum(f["seconds"] for f in ordered.values()),
        },
        "per_agent": ordered,
    }


def summaries(conn: Connection, account_id: int) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute(
        select(
            agent_totals.c.agent,
            agent_totals.c.last_start_us,
            agent_totals.c.run_meetings,
            agent_totals.c.run_seconds,
        ).where(agent_totals.c.account_id == account_id)
    ).all()
    return {agent: tuple(rest) for agent, *rest in rows}


def last_sessions(conn: Connection, account_id: int) -> dict[str, tuple[Any, ...]]:
    """Each agent's last session with a start, as ``agent_totals`` should hold it
    (on SQLite; PostgreSQL keeps no totals)."""
    if conn.dialect.name != "sqlite":
        return {}
    rows = conn.execute(
        select(
            sessions.c.agent,
            sessions.c.start_us,
            sessions.c.id,
            sessions.c.run_meetings,
            sessions.c.run_seconds,
        ).where(
            sessions.c.account_id == account_id,
            sessions.c.agent.is_not(None),
            sessions.c.start_us.is_not(None),
        )
    ).all()
    last: dict[str, tuple[Any, ...]] = {}
    for agent, start, _id, meetings, seconds in sorted(rows, key=lambda r: (r[1], r[2])):
        last[agent] = (start, meetings, seconds)
    return last


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


def test_migration_0010_gives_existing_sessions_their_totals_and_takes_them_back(
    empty_url: str,  # noqa: F811
) -> None:
    engine = make_engine(empty_url)
    migrate.upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'a', 0)"))
        for sid, agent, start, end in (
            ("b", AGENTS[0], STARTS[1], STARTS[1] + 30 * S),
            ("a", AGENTS[0], STARTS[1], None),
            ("c", AGENTS[1], STARTS[0], STARTS[0] + 5 * S + 1),
            ("d", AGENTS[0], STARTS[3], STARTS[3] + 7 * S),
        ):
            # As the schema was at 0009: no totals columns yet.
            conn.execute(
                text(
                    "INSERT INTO sessions (account_id, id, agent, start_us, end_us, updated_us) "
                    "VALUES (1, :i, :a, :s, :e, 1)"
                ),
                {"i": sid, "a": agent, "s": start, "e": end},
            )
    migrate.upgrade(engine)
    db = Database(empty_url)
    query = UsageQuery(STARTS[1], STARTS[4], (), NOW)
    with db.reading() as conn:
        assert usage_stats(conn, 1, query).as_json() == counted(conn, 1, query)
        if db.is_sqlite:
            assert window_totals(conn, 1, query) == [(AGENTS[0], 3, 37)]
    db.dispose()
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
        conn.commit()
    assert "totals_stale" not in inspect(engine).get_table_names()
    assert "run_meetings" not in {c["name"] for c in inspect(engine).get_columns("sessions")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sessions")).scalar_one() == 4
    engine.dispose()


def test_migration_0011_summarises_each_agents_last_session_and_takes_it_back(
    empty_url: str,  # noqa: F811
) -> None:
    engine = make_engine(empty_url)
    # Rows written at 0009: 0010 gives them their totals, 0011 its summaries.
    migrate.upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'a', 0)"))
        for sid, agent, start in (
            ("b", AGENTS[0], STARTS[3]),
            ("a", AGENTS[0], STARTS[3]),
            ("c", AGENTS[1], STARTS[0]),
            ("d", AGENTS[0], STARTS[1]),
        ):
            conn.execute(
                text(
                    "INSERT INTO sessions (account_id, id, agent, start_us, end_us, updated_us) "
                    "VALUES (1, :i, :a, :s, :e, 1)"
                ),
                {"i": sid, "a": agent, "s": start, "e": start + 10 * S},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # "b" after "a": ties on start run in id order.
            expected = {AGENTS[0]: (STARTS[3], 3, 30), AGENTS[1]: (STARTS[0], 1, 10)}
            assert summaries(conn, 1) == last_sessions(conn, 1) == expected
        else:
            assert summaries(conn, 1) == {}
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010")
        conn.commit()
    assert "agent_totals" not in inspect(engine).get_table_names()
    if engine.dialect.name == "sqlite":
        # 0010's trigger again: an agent's only session goes unnoted.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sessions WHERE id = 'c'"))
            assert conn.execute(text("SELECT count(*) FROM totals_stale")).scalar_one() == 0
    engine.dispose()


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
