"""What an answer's validator is made of: the account's position, and the clock.

Every write that changes an account's sessions takes a new position from
``accounts.last_seq`` (``store/positions.py``), so two snapshots of an account
with the same ``last_seq`` hold the same sessions. An answer is then fixed by
the request and that position, unless it holds a session still going on:
its ``duration``, ``webcam_seconds`` and viewers' ``seconds`` run to now.
Each function here reads both in one statement, without reading the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, exists, select, true

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


def _state(
    conn: Connection, account_id: int, found: ColumnElement[bool], ongoing: ColumnElement[bool]
) -> AnswerState | None:
    row = conn.execute(
        select(accounts.c.last_seq, accounts.c.pruned_seq, found, ongoing).where(
            accounts.c.id == account_id
        )
    ).first()
    if row is None:
        return None
    last_seq, pruned_seq = int(row[0]), int(row[1])
    return AnswerState(last_seq, pruned_seq, bool(row[2]), bool(row[3]))


def window_state(conn: Connection, account_id: int, query: UsageQuery) -> AnswerState | None:
    """For usage, usage_new and daily: is a session of the window still going on?

    Answered from ``ix_sessions_account_ongoing`` (the account's ongoing
    sessions only), however many sessions the window holds.
    """
    conditions = [
        sessions.c.account_id == account_id,
        sessions.c.end_us.is_(None),
        sessions.c.start_us >= query.from_us,
        sessions.c.start_us < query.to_us,
    ]
    if query.agents:
        # As an expression, not the column: SQLite would otherwise walk the agents'
        # whole window in ix_sessions_account_agent_start, ended sessions and all.
        conditions.append(sessions.c.agent.concat("").in_(query.agents))
    ongoing = exists().where(*conditions)
    return _state(conn, account_id, true(), ongoing)


def session_state(conn: Connection, account_id: int, session_id: str) -> AnswerState | None:
    """For one session: does it exist (in usage), and is it still going on?"""
    started = [
        sessions.c.account_id == account_id,
        sessions.c.id == session_id,
        sessions.c.start_us.is_not(None),
    ]
    found = exists().where(*started)
    ongoing = exists().where(*started, sessions.c.end_us.is_(None))
    return _state(conn, account_id, found, ongoing)


def feed_state(conn: Connection, account_id: int, since: int, limit: int) -> AnswerState | None:
    """For a change-feed page: is ``since`` still served, and may the page list an
    ongoing session?

    The page lists at most ``limit`` sessions, the first ones after ``since``
    (tombstones may take some of its places): an ongoing one among those first
    ``limit`` may be on it. At most ``limit`` index entries, as the page itself reads.
    """
    first = (
        select(sessions.c.end_us)
        .where(
            sessions.c.account_id == account_id,
            sessions.c.seq > since,
            sessions.c.start_us.is_not(None),
        )
        .order_by(sessions.c.seq)
        .limit(limit)
        .subquery()
    )
    ongoing = exists().where(first.c.end_us.is_(None))
    # At 0 a client holds nothing, so no position is gone (as store/changes.py has it).
    served = accounts.c.pruned_seq <= since if since > 0 else true()
    return _state(conn, account_id, served, ongoing)
