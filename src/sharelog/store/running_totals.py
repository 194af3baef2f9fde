"""Each agent's running totals, kept on its sessions' rows: a window's meetings and
seconds per agent from two rows an agent, not from every session of the window.

The rule. A session with an agent and a start carries ``run_meetings`` and
``run_seconds``: the number of the agent's sessions up to and including it in
``(start_us, id)`` order, and the whole seconds of those that ended
(``timestamps.whole_seconds``: floor, never negative; a session going on adds
none, its seconds run on with the clock), both plus an offset of the agent's
own. For a window ``from <= start < to`` an agent's figures are then the
totals of its last session before ``to`` minus those before its first session
from ``from`` on: the offset cancels. It is what lets the retention sweep
delete an agent's oldest sessions without touching the others.

How they stay true. Triggers on ``sessions`` (migration 0010) note in
``totals_stale``, per agent, the earliest start whose totals a write may have
changed: a session added, deleted (unless it was the agent's first and others
remain), ended, moved or given to another agent. ``settle`` recomputes the
agent's totals from there on, in one statement for every agent noted, and
writes the agent's row of ``agent_totals`` (its last session's start and
totals; none once it has no session, migration 0011), before a transaction
that writes an account's sessions commits (``Database.writing(account_id)``,
as every such write in the service is made): readers never see a stale
total. An agent left unsettled (a write made otherwise) sends usage's stats
back to the aggregate over the window; never wrong, only slower.

Over a 70,000-session window of 500 agents (bench/datasette.py's file) the
aggregate took 36-50 ms on SQLite, the totals 3.2-4.8 ms with two seeks an
agent, 1.4-1.7 ms reading ``agent_totals`` for the window's end. Small windows and
accounts of very many agents keep the aggregate (``SMALL_WINDOW``,
``MAX_AGENTS``).

SQLite only (migration 0010 says why): on PostgreSQL the columns stay empty,
nothing is noted, and the stats stay the aggregate.
"""

from __future__ import annotations

import orjson
from sqlalchemy import Connection

from sharelog.domain import UsageQuery
from sharelog.store.driver import Row, execute, fetch
from sharelog.timestamps import US_PER_SECOND


def _own_seconds(r: str) -> str:
    """What the session ``r`` adds to ``run_seconds`` (as in migration 0010)."""
    return (
        f"CASE WHEN {r}.end_us > {r}.start_us "
        f"THEN ({r}.end_us - {r}.start_us) / {US_PER_SECOND} ELSE 0 END"
    )


def _base(column: str) -> str:
    """The agent's total before the stale start: its last session there, whose
    totals still hold (0 when there is none: every later one is recomputed)."""
    return (
        f"coalesce((SELECT p.{column} FROM sessions p WHERE p.account_id = d.account_id "
        "AND p.agent = d.agent AND p.start_us < d.from_us "
        "ORDER BY p.start_us DESC, p.id DESC LIMIT 1), 0)"
    )


def settle(conn: Connection, account_id: int) -> None:
    """Recompute the account's totals that ``totals_stale`` notes, in ``conn``'s
    transaction: one statement for every agent noted, each agent's base read
    once (a CTE kept whole), not once a row."""
    if conn.dialect.name != "sqlite":
        return
    if not fetch(conn, "SELECT 1 FROM totals_stale WHERE account_id = ? LIMIT 1", [account_id]):
        return
    execute(
        conn,
        "WITH d AS MATERIALIZED (SELECT d.account_id, d.agent, d.from_us, "
        f"{_base('run_meetings')} AS bm, {_base('run_seconds')} AS bs "
        "FROM totals_stale d WHERE d.account_id = ?) "
        "UPDATE sessions SET run_meetings = w.m, run_seconds = w.s FROM ("
        "SELECT x.id AS i, count(*) OVER win + d.bm AS m, "
        f"sum({_own_seconds('x')}) OVER win + d.bs AS s "
        "FROM d JOIN sessions x ON x.account_id = d.account_id "
        "AND x.agent = d.agent AND x.start_us >= d.from_us "
        "WINDOW win AS (PARTITION BY x.agent ORDER BY x.start_us, x.id "
        "ROWS UNBOUNDED PRECEDING)) AS w "
        "WHERE sessions.account_id = ? AND sessions.id = w.i",
        [account_id, account_id],
    )
    execute(conn, _SUMMARISE, [account_id])
    execute(conn, _FORGET, [account_id, account_id])
    execute(conn, "DELETE FROM totals_stale WHERE account_id = ?", [account_id])


# The noted agents' last sessions, into ``agent_totals``: their starts and totals
# as the rows hold them (null totals too: the stats then take the aggregate).
_SUMMARISE = (
    "INSERT INTO agent_totals (account_id, agent, last_start_us, run_meetings, run_seconds) "
    "SELECT x.account_id, x.agent, x.start_us, x.run_meetings, x.run_seconds "
    "FROM totals_stale d CROSS JOIN sessions x ON x.rowid = ("
    "SELECT y.rowid FROM sessions y WHERE y.account_id = d.account_id AND y.agent = d.agent "
    "AND y.start_us IS NOT NULL ORDER BY y.start_us DESC, y.id DESC LIMIT 1) "
    "WHERE d.account_id = ? ON CONFLICT (account_id, agent) DO UPDATE SET "
    "last_start_us = excluded.last_start_us, run_meetings = excluded.run_meetings, "
    "run_seconds = excluded.run_seconds"
)
# And the noted agents left without a session lose their row.
_FORGET = (
    "DELETE FROM agent_totals WHERE account_id = ? AND agent IN ("
    "SELECT d.agent FROM totals_stale d WHERE d.account_id = ?) AND NOT EXISTS ("
    "SELECT 1 FROM sessions s WHERE s.account_id = agent_totals.account_id "
    "AND s.agent = agent_totals.agent AND s.start_us IS NOT NULL)"
)


# Below this many sessions in a window, the aggregate over them costs no more
# than the totals of a few hundred agents (7,671 sessions: 3.8-4.0 ms against
# 2.9-3.3 for 500 agents), and far less for an account of many agents.
SMALL_WINDOW = 5_000
# The totals cost two seeks an agent of the account, whether or not it has a
# session in the window: past this many agents, the aggregate.
MAX_AGENTS = 2_000
# And they cost about as much as aggregating this many sessions an agent (6 us
# against 0.55): a window holding fewer for the account's agents is aggregated.
SESSIONS_PER_AGENT = 11


# The window's sessions, counted up to a bound (``ix_sessions_account_start``,
# about 0.04 us a session): whether the totals are worth their seeks.
_HELD = (
    "SELECT count(*) FROM (SELECT 1 FROM sessions "
    "WHERE account_id = ? AND start_us >= ? AND start_us < ? LIMIT ?)"
)
_FILTER = " AND a.agent IN (SELECT value FROM json_each(?))"


def window_totals(conn: Connection, account_id: int, query: UsageQuery) -> list[Row] | None:
    """``(agent, meetings, ended seconds)`` of each agent with a session in the
    window, in code point order; None when the aggregate is the way: on
    PostgreSQL, when an agent's totals are not settled, for a window of fewer
    than ``SMALL_WINDOW`` sessions or ``SESSIONS_PER_AGENT`` an agent, or an
    account of more than ``MAX_AGENTS`` agents.

    The agents and their totals at their last sessions are ``agent_totals``'
    rows. An agent's last session before ``to`` is that last one when it starts
    before ``to`` (most windows end after it), else an index seek
    (``ix_sessions_account_agent_start``); its first from ``from`` is always a
    seek; then those rows by rowid, in that order (CROSS JOIN: a plain join let
    SQLite build a Bloom filter over every session of the account first). Over
    bench/datasette.py's 500 agents the statement took 1.4-1.7 ms against 3.7-4.3
    for two seeks an agent after a loose index scan for the agents.
    """
    if conn.dialect.name != "sqlite":
        return None
    only = [orjson.dumps(query.agents).decode()] if query.agents else []
    restrict = _FILTER if query.agents else ""
    [(agents, stale)] = fetch(
        conn,
        f"SELECT (SELECT count(*) FROM agent_totals a WHERE a.account_id = ?{restrict}), "
        "EXISTS (SELECT 1 FROM totals_stale WHERE account_id = ?)",
        [account_id, *only, account_id],
    )
    if stale or agents > MAX_AGENTS:
        return None
    bound = SMALL_WINDOW if query.agents else max(SMALL_WINDOW, SESSIONS_PER_AGENT * agents)
    [(held,)] = fetch(conn, _HELD, [account_id, query.from_us, query.to_us, bound])
    if held < bound:
        return None
    return fetch(
        conn,
        "WITH b AS MATERIALIZED (SELECT a.agent, a.last_start_us < ? AS past, "
        "a.run_meetings AS pm, a.run_seconds AS ps, "
        "CASE WHEN a.last_start_us < ? THEN NULL ELSE "
        "(SELECT x.rowid FROM sessions x WHERE x.account_id = a.account_id AND x.agent = a.agent "
        "AND x.start_us < ? ORDER BY x.start_us DESC, x.id DESC LIMIT 1) END AS hi, "
        "(SELECT x.rowid FROM sessions x WHERE x.account_id = a.account_id AND x.agent = a.agent "
        "AND x.start_us >= ? ORDER BY x.start_us, x.id LIMIT 1) AS lo "
        f"FROM agent_totals a WHERE a.account_id = ?{restrict}) "
        "SELECT b.agent, iif(b.past, b.pm, h.run_meetings) - l.run_meetings + 1, "
        f"iif(b.past, b.ps, h.run_seconds) - l.run_seconds + {_own_seconds('l')} "
        "FROM b CROSS JOIN sessions l ON l.rowid = b.lo "
        "LEFT JOIN sessions h ON h.rowid = b.hi "
        "WHERE l.start_us < ? ORDER BY b.agent",
        [*[query.to_us] * 3, query.from_us, account_id, *only, query.to_us],
    )
