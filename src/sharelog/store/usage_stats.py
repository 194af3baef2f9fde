"""Usage's stats: meetings and seconds of a window, in total and per agent, from the
agents' running totals (or an aggregate); and the recent ones kept while the
account's sessions stay the same."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from sharelog.domain import UsageQuery
from sharelog.store.driver import Row, fetch
from sharelog.store.positions import current_position
from sharelog.store.running_totals import window_totals
from sharelog.store.usage_sql import dialect_of
from sharelog.timestamps import US_PER_SECOND


@dataclass(frozen=True, slots=True)
class Figures:
    meetings: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Stats:
    total: Figures
    per_agent: dict[str, Figures]
    # Sessions of the window still going on: their seconds run on with the clock.
    ongoing: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "total": {"meetings": self.total.meetings, "seconds": self.total.seconds},
            "per_agent": {
                agent: {"meetings": f.meetings, "seconds": f.seconds}
                for agent, f in self.per_agent.items()
            },
        }


def usage_stats(conn: Connection, account_id: int, query: UsageQuery) -> Stats:
    """The window's figures, per agent in code point order.

    From the agents' running totals (``store.running_totals``), with the seconds
    of the window's sessions still going on added to now; from the aggregate
    over the window while an agent's totals are not settled.
    """
    totals = window_totals(conn, account_id, query)
    # Totals missing (rows written around the triggers, say): the aggregate.
    if totals is None or any(n is None or seconds is None for _, n, seconds in totals):
        return aggregate_stats(conn, account_id, query)
    per_agent = {agent: [int(n), int(seconds)] for agent, n, seconds in totals}
    ongoing = 0
    for agent, n, seconds, _ in _sums(conn, account_id, query, going_on=True):
        per_agent[agent][1] += int(seconds)
        ongoing += int(n)
    return _stats(((agent, n, s) for agent, (n, s) in per_agent.items()), ongoing)


def aggregate_stats(conn: Connection, account_id: int, query: UsageQuery) -> Stats:
    """``usage_stats`` by one aggregate over the window's sessions."""
    rows = sorted(_sums(conn, account_id, query, going_on=False), key=_by_agent)
    return _stats(((agent, n, s) for agent, n, s, _ in rows), sum(int(r[3]) for r in rows))


def _sums(conn: Connection, account_id: int, query: UsageQuery, *, going_on: bool) -> list[Row]:
    """``(agent, sessions, seconds, sessions going on)`` of the window's sessions,
    or of those still going on only (``ix_sessions_account_ongoing``: the
    account's few such sessions).

    On the driver's cursor, with each session's seconds written once
    (``greatest``/``max`` of the span and 0): the same aggregate through
    SQLAlchemy, with the span in a CASE written twice and sorted by the
    database, took 7.1-7.4 against 4.8-5.0 ms over 15,000 sessions on
    PostgreSQL, 9.2-9.4 against 6.9-7.2 on SQLite (the bare aggregate: 4.3 and
    6.3). ``timestamps.whole_seconds`` is the rule: floor, never negative,
    ongoing sessions run to now.
    """
    d = dialect_of(conn)
    m = d.mark
    larger = "greatest" if d.postgresql else "max"
    sql = (
        f"SELECT agent, count(*), "
        f"sum({larger}(coalesce(end_us, {m}) - start_us, 0) / {US_PER_SECOND}), "
        f"count(*) - count(end_us) FROM sessions "
        f"WHERE account_id = {m} AND start_us >= {m} AND start_us < {m}"
    )
    params: list[Any] = [query.now_us, account_id, query.from_us, query.to_us]
    if going_on:
        sql += " AND end_us IS NULL"
    if query.agents:
        # Going on, as an expression: SQLite would otherwise walk the agents'
        # sessions in ix_sessions_account_agent_start, ended ones and all.
        sql += f" AND {d.one_of(_AGENT_EXPRESSION if going_on else 'agent')}"
        params.append(d.id_list(query.agents))
    return fetch(conn, sql + " GROUP BY agent", params)


_AGENT_EXPRESSION = "(agent || '')"


def _stats(rows: Iterable[tuple[Any, Any, Any]], ongoing: int) -> Stats:
    per_agent = {agent: Figures(int(n), int(seconds or 0)) for agent, n, seconds in rows}
    total = Figures(
        sum(f.meetings for f in per_agent.values()), sum(f.seconds for f in per_agent.values())
    )
    return Stats(total=total, per_agent=per_agent, ongoing=ongoing)


def _by_agent(row: Row) -> tuple[bool, str]:
    # As ORDER BY agent did: code point order (COLLATE "C" on PostgreSQL), nulls last.
    return (row[0] is None, row[0] or "")


class StatsCache:
    """The stats of recently asked windows, each kept with the account's change-feed
    position (``accounts.last_seq``) it was computed at.

    Every write that changes an account's sessions takes new positions in its
    transaction (``store.positions``: events, imports, deletions, erasure,
    retention), so a snapshot that shows the same ``last_seq`` shows the same
    sessions, and the same stats, except for sessions still going on, whose
    seconds run to now: a window holding one is never kept. Paging asks for the
    same window's stats on every page: over a 70,000-session window, a 36 ms
    aggregate for each page of 1,000 was 80% of the time paging took.

    Held per process and per database (``create_app`` makes one); bounded by
    the agents it holds in all, whatever the windows.
    """

    def __init__(self, max_agents: int = 50_000) -> None:
        self._max_agents = max_agents
        self._held = 0
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Any, ...], tuple[int, Stats]] = OrderedDict()

    def stats(self, conn: Connection, account_id: int, query: UsageQuery) -> Stats:
        """``usage_stats`` of the window, as of ``conn``'s snapshot."""
        version, found = self.lookup(conn, account_id, query)
        return found if found is not None else self.compute(conn, account_id, query, version)

    def lookup(
        self, conn: Connection, account_id: int, query: UsageQuery
    ) -> tuple[int, Stats | None]:
        """The account's position in ``conn``'s snapshot, and the window's stats
        if they are kept for it."""
        version, key = current_position(conn, account_id), _key(account_id, query)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] == version:
                self._entries.move_to_end(key)
                return version, found[1]
        return version, None

    def compute(self, conn: Connection, account_id: int, query: UsageQuery, version: int) -> Stats:
        """``usage_stats`` in ``conn``'s snapshot, which shows the account at ``version``;
        kept for later."""
        stats = usage_stats(conn, account_id, query)
        if stats.ongoing == 0 and len(stats.per_agent) <= self._max_agents:
            self._keep(_key(account_id, query), version, stats)
        return stats

    def _keep(self, key: tuple[Any, ...], version: int, stats: Stats) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._held -= len(old[1].per_agent)
            self._entries[key] = (version, stats)
            self._held += len(stats.per_agent)
            while self._held > self._max_agents:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._held -= len(evicted.per_agent)


def _key(account_id: int, query: UsageQuery) -> tuple[Any, ...]:
    return (account_id, query.from_us, query.to_us, query.agents)
