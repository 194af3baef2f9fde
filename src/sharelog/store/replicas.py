"""Which engine serves a read: a replica fresh enough, else the primary.

A replica is fresh enough when its replay lag is under the configured bound
and, when the request carries a ``Sharelog-Min-Position``, when it has
replayed the WAL up to that position (read-your-writes). Each replica's state
is checked at most once a second per process: one small query, so reads do
not pay a round trip each to ask.

Positions are PostgreSQL WAL positions (LSNs) in their text form ``X/Y``.
Every write answer carries the primary's position after its commit in
``Sharelog-Position``; the request-scoped values travel in context variables
(set by ``sharelog.api.positions``), which Starlette copies into the threads
that run database work.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

log = logging.getLogger("sharelog.replicas")

_LSN = re.compile(r"([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})")

# The position a read must see (from Sharelog-Min-Position), None when any will do.
read_after: ContextVar[int | None] = ContextVar("sharelog_read_after", default=None)
# Where a request's writes leave their commit position: a one-element list the
# request owns (a thread cannot set its caller's context variable, it can fill
# a list both see). None outside a request: nobody asks for a position.
written: ContextVar[list[str] | None] = ContextVar("sharelog_written", default=None)
# The engine every read of the request uses, once set (``sharelog.api.conditional``):
# an ETag read in one snapshot holds for the answer only if the answer's own
# snapshots are no older, and two replicas may stand at different positions.
pinned: ContextVar[Engine | None] = ContextVar("sharelog_pinned", default=None)

# State checks are cached this long (seconds).
CHECK_INTERVAL_S = 1.0

# Caught up with everything received: no lag, whatever the age of the last
# replayed transaction (an idle primary sends none). Else the age of the last
# transaction replayed, which grows while replay is behind or paused.
_STATE = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


def parse_position(value: str) -> int:
    """An LSN ``X/Y`` as a number; ValueError when it is not one."""
    match = _LSN.fullmatch(value.strip())
    if match is None:
        raise ValueError("a WAL position such as 0/16B3748 (from a Sharelog-Position header)")
    return (int(match[1], 16) << 32) | int(match[2], 16)


def commit_position(conn: Connection) -> str:
    """The primary's WAL insert position, read after a commit: past its commit record."""
    return str(conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar_one())


@dataclass
class _State:
    checked: float = -1e9
    usable: bool = False
    lag_s: float = 0.0
    # None: the position cannot be known (not a standby, or SQLite).
    replay: int | None = None


class Replica:
    """One replica engine and its cached state."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._state = _State()
        self._lock = threading.Lock()

    def state(self) -> _State:
        state = self._state
        if time.monotonic() - state.checked < CHECK_INTERVAL_S:
            return state
        # One thread refreshes; the others go on with the last state meanwhile.
        if not self._lock.acquire(blocking=False):
            return state
        try:
            self._state = state = self._check()
        finally:
            self._lock.release()
        return state

    def _check(self) -> _State:
        now = time.monotonic()
        if self.engine.dialect.name != "postgresql":
            return _State(checked=now, usable=True)
        try:
            with self.engine.connect() as conn:
                recovering, replay, lag = conn.execute(_STATE).one()
        except Exception as exc:  # any failure: read from the primary for a while
            log.warning("replica %s unusable: %s", self.engine.url.render_as_string(), exc)
            return _State(checked=now)
        if not recovering:
            # Not a standby: a copy kept some other way (or a promoted standby,
            # which is the primary itself now). Fresh, but positions mean nothing.
            return _State(checked=now, usable=True)
        return _State(
            checked=now,
            usable=True,
            lag_s=float(lag),
            replay=parse_position(replay) if replay else None,
        )


class ReplicaChooser:
    """Round robin over the replicas fresh enough; None sends the read to the primary."""

    def __init__(self, engines: list[Engine], max_lag_s: float) -> None:
        self.replicas = [Replica(engine) for engine in engines]
        self.max_lag_s = max_lag_s
        self._next = 0

    def choose(self) -> Engine | None:
        if not self.replicas:
            return None
        need = read_after.get()
        start = self._next
        self._next = (start + 1) % len(self.replicas)
        for i in range(len(self.replicas)):
            replica = self.replicas[(start + i) % len(self.replicas)]
            if replica.engine.dialect.name != "postgresql":
                return replica.engine
            state = replica.state()
            if not state.usable or state.lag_s >= self.max_lag_s:
                continue
            if need is not None and (state.replay is None or state.replay < need):
                continue
            return replica.engine
        return None
