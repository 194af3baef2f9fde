"""The writes and the checks the running totals' tests share: sessions written as
usage's writes leave them (``Put``, ``Many``, ``apply``), and usage's stats and
``agent_totals`` as they should be, computed one session at a time."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from sharelog.domain import UsageQuery
from sharelog.store import running_totals
from sharelog.store.schema import agent_totals, sessions
from sharelog.timestamps import whole_seconds

T0 = 1_793_606_400_000_000
S = 1_000_000
# Few starts, so that sessions tie on them; ends a fraction of a second apart.
STARTS = [T0 + k * 60 * S for k in range(6)]
NOW = T0 + 3_600 * S
IDS = ("a-1", "A1", "b_2", "Z", "a1", "B")
AGENTS = ("ann@x.io", "bob@x.io", "Cy@x.io")
NAMES = itertools.count()


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
