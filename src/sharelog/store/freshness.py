"""What an answer's validator is made of: the account's position, and the clock.

Every write that changes an account's sessions takes a new position from
``accounts.last_seq`` (``store/positions.py``), so two snapshots of an account
with the same ``last_seq`` hold the same sessions. An answer is then fixed by
the request and that position, unless it holds a session still going on:
its ``duration``, ``webcam_seconds`` and viewers' ``seconds`` run to now.
Each function here reads both in one statement, without reading the answer.

The statements are built once, with bound parameters: this is all a 304
costs in the database, and building a statement per call was a third of
reading it (60 of 200 us on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, exists, select, true

from sharelog.domain import UsageQuery
from sharelog.store.schema import accounts, sessions


@dataclass(frozen=True, slots=True)
class AnswerState:
    """An account's positions and what the asked-for answer holds, in one snapshot."""

    last_seq: int
    pruned_seq: int
    # The session asked for exists (a session's answer); the position is not
    # gone (the change feed's). False: the answer is an error, never a 304.
    found: bool
    # The answer holds, or may hold, a session still going on.
    ongoing: bool


def _statement(found: ColumnElement[bool], ongoing: ColumnElement[bool]) -> Select[Any]:
    return select(accounts.c.last_seq, accounts.c.pruned_seq, found, ongoing).where(
        accounts.c.id == bindparam("account_id")
    )


def _window(agents: bool) -> Select[Any]:
    conditions = [
        sessions.c.account_id == bindparam("account_id"),
        sessions.c.end_us.is_(None),
        sessions.c.start_us >= bindparam("from_us"),
        sessions.c.start_us < bindparam("to_us"),
    ]
    if agents:
        # As an expression, not the column: SQLite would otherwise walk the agents'
        # whole window in ix_sessions_account_agent_start, ended sessions and all.
        conditions.append(sessions.c.agent.concat("").in_(bindparam("agents", expanding=True)))
    # Answered from ix_sessions_account_ongoing: the account's ongoing sessions only.
    return _statement(true(), exists().where(*conditions))


_WINDOW = _window(agents=False)
_WINDOW_OF_AGENTS = _window(agents=True)

_STARTED = [
    sessions.c.account_id == bindparam("account_id"),
    sessions.c.id == bindparam("session_id"),
    sessions.c.start_us.is_not(None),
]
_SESSION = _statement(
    exists().where(*_STARTED), exists().where(*_STARTED, sessions.c.end_us.is_(None))
)

# The feed's page lists at most `limit` sessions, the first ones after `since`
# (tombstones may take some of its places): an ongoing one among those may be on it.
_FIRST = (
    select(sessions.c.end_us)
    .where(
        sessions.c.account_id == bindparam("account_id"),
        sessions.c.seq > bindparam("since"),
        sessions.c.start_us.is_not(None),
    )
    .order_by(sessions.c.seq)
    .limit(bindparam("limit"))
    .subquery()
)
# At 0 a client holds nothing, so no position is gone (as store/changes.py has it).
_SERVED = (bindparam("since") == 0) | (accounts.c.pruned_seq <= bindparam("since"))
_FEED = _statement(_SERVED, exists().where(_FIRST.c.end_us.is_(None)))


def _state(conn: Connection, statement: Select[Any], **values: Any) -> AnswerState | None:
    row = conn.execute(statement, values).first()
    if row is None:
        return None
    return AnswerState(int(row[0]), int(row[1]), bool(row[2]), bool(row[3]))


def window_state(conn: Connection, account_id: int, query: UsageQuery) -> AnswerState | None:
    """For usage, usage_new and daily: is a session of the window still going on?"""
    window = {"account_id": account_id, "from_us": query.from_us, "to_us": query.to_us}
    if query.agents:
        return _state(conn, _WINDOW_OF_AGENTS, **window, agents=list(query.agents))
    return _state(conn, _WINDOW, **window)


def session_state(conn: Connection, account_id: int, session_id: str) -> AnswerState | None:
    """For one session: does it exist (in usage), and is it still going on?"""
    return _state(conn, _SESSION, account_id=account_id, session_id=session_id)


def feed_state(conn: Connection, account_id: int, since: int, limit: int) -> AnswerState | None:
    """For a change-feed page: is ``since`` still served, and may the page list an
    ongoing session? At most ``limit`` index entries, as the page itself reads."""
    return _state(conn, _FEED, account_id=account_id, since=since, limit=limit)
