"""Conditional GETs: an ``ETag`` on usage-history answers, and ``304`` for ``If-None-Match``.

The rule. An answer's tag is a MAC, under the deployment's secret, of:

- the code (a digest of its source), the path and the query string as sent
  (every parameter, known or not, so none can be forgotten);
- what the server resolved from elsewhere: the window with its defaults and
  the JSON body's ``from``/``to``, the format (``Accept`` included), the page;
- the key's account and its positions (``accounts.last_seq`` and
  ``pruned_seq``), read in one snapshot with one indexed statement
  (``store/freshness.py``), which is all a 304 costs besides the key check.

Every write that changes an account's sessions moves ``last_seq``, and pruning
tombstones (the change feed's deletions) moves ``pruned_seq``: the same tag
means the same answer, except for the clock. An answer whose window ends at
now (``to`` left out), or that holds (or may hold) a session still going on,
changes from one second to the next (durations, webcam and viewer seconds
run to now); it gets no ``ETag``, and ``If-None-Match`` does not apply to it.

Tags are weak (``W/"..."``): an answer streamed while a write commits may show
that write under the tag of the position before it (the answer is never
older than its tag, see below); If-None-Match compares weakly anyway.
``If-None-Match: *`` is a 304 whenever the answer would be a 200. On the
change feed with ``wait``, a matching tag holds the request until the account
moves on (a 200) or the time runs out (the 304): a long poll's client already
holds the answer that a 304 at once would only confirm.

Replicas: the snapshot that reads the positions comes first, and every later
read of the request goes to the same engine (``store.replicas.pinned``), so
the answer is at least as new as its tag. A newer answer under an older tag
costs the client one more 200 later, never a stale 304.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

import orjson
from fastapi import Request
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response

from sharelog.api.feed_wait import ChangeWaiter
from sharelog.api.signing import Signer
from sharelog.api.usage_request import UsageRequest
from sharelog.code_version import code_version
from sharelog.domain import UsageQuery
from sharelog.store.database import Database
from sharelog.store.freshness import AnswerState, feed_state, session_state, window_state
from sharelog.store.replicas import pinned

log = logging.getLogger("sharelog.api")
T = TypeVar("T")
# The tags of If-None-Match, ``*``, or None without the header.
Wanted = frozenset[str] | Literal["*"] | None

# Answers are per key: no shared cache keeps them, and a private one asks every time.
CACHE_CONTROL = "private, no-cache"
ANY: Literal["*"] = "*"
_OPAQUE_TAG = re.compile(r'(?:W/)?("[^"]*")')
_KIND = "etag"
# A long poll woken before its snapshot shows the change looks again this much later.
RECHECK_SECONDS = 0.1


class Answer(Protocol):
    """What a route answers, as far as its validator is concerned."""

    @property
    def clocked(self) -> bool:
        """The answer changes with the clock whatever the data: no tag."""

    @property
    def vary(self) -> str | None: ...

    def parts(self) -> list[object]:
        """What the server resolved that the query string does not say."""

    def read_state(self, conn: Connection, account_id: int) -> AnswerState | None: ...


@dataclass(frozen=True, slots=True)
class WindowAnswer:
    """usage, usage_new, daily: a window's answer; ``shape`` is the rest that shapes it."""

    query: UsageQuery
    shape: tuple[object, ...] = ()
    vary: str | None = None

    @property
    def clocked(self) -> bool:
        # A window whose `to` was left out ends at the instant the request was
        # read (an explicit `to` equal to it, to the microsecond, counts the same).
        return self.query.to_us == self.query.now_us

    def parts(self) -> list[object]:
        q = self.query
        return [q.from_us, q.to_us, list(q.agents), *self.shape]

    def read_state(self, conn: Connection, account_id: int) -> AnswerState | None:
        return window_state(conn, account_id, self.query)


@dataclass(frozen=True, slots=True)
class SessionAnswer:
    """One session (its id is in the path); ``shape``: the page of its viewers."""

    session_id: str
    shape: tuple[object, ...] = ()
    vary: str | None = None
    clocked: bool = field(default=False, init=False)

    def parts(self) -> list[object]:
        return [self.session_id, *self.shape]

    def read_state(self, conn: Connection, account_id: int) -> AnswerState | None:
        return session_state(conn, account_id, self.session_id)


@dataclass(frozen=True, slots=True)
class FeedAnswer:
    """A change-feed page: the changes after ``since``, at most ``limit``."""

    since: int
    limit: int
    vary: str | None = None
    clocked: bool = field(default=False, init=False)

    def parts(self) -> list[object]:
        return [self.since, self.limit]

    def read_state(self, conn: Connection, account_id: int) -> AnswerState | None:
        return feed_state(conn, account_id, self.since, self.limit)


def usage_answer(parsed: UsageRequest) -> WindowAnswer:
    """``GET /ss/api/usage``: its format comes from ``Accept`` too, hence ``Vary``."""
    shape = (parsed.format, sorted(parsed.include), parsed.limit, parsed.after)
    return WindowAnswer(parsed.query, shape, vary="Accept")


@dataclass(frozen=True, slots=True)
class Precondition:
    """The outcome: a 304 to send, or the headers the full answer carries."""

    headers: dict[str, str]
    not_modified: Response | None = None
    # The account's position as the check read it (None when none was read).
    last_seq: int | None = None

    def stamp(self, response: Response) -> Response:
        """The full answer with its validator and caching headers."""
        response.headers.update(self.headers)
        return response


def requested_tags(headers: Headers) -> Wanted:
    """The opaque tags of ``If-None-Match`` (weak or not: compared weakly), ``*``,
    or None without the header. Anything unparsable in it matches nothing."""
    values = headers.getlist("if-none-match")
    if not values:
        return None
    if any(value.strip() == ANY for value in values):
        return ANY
    return frozenset(tag for value in values for tag in _OPAQUE_TAG.findall(value))


async def precondition(request: Request, account_id: int, answer: Answer) -> Precondition:
    """Evaluate ``If-None-Match`` for ``answer``; call it once the request is known valid.

    Errors are the route's to raise afterwards (a missing session, a gone
    position): they get neither a 304 nor a tag.
    """
    db, wanted, headers = await _prelude(request, answer)
    if answer.clocked and wanted != ANY:
        return Precondition(headers)
    return await run_in_threadpool(_evaluate, request, db, account_id, answer, wanted, headers)


async def precondition_then(
    request: Request, account_id: int, answer: Answer, then: Callable[[], T]
) -> Response | tuple[Precondition, T]:
    """``precondition``, then, unless the answer is the 304 (returned as it is),
    ``then()``, in the same trip to the thread pool: a usage page's validator
    and its reads took two trips, and each costs the event loop a wake-up."""
    db, wanted, headers = await _prelude(request, answer)
    if answer.clocked and wanted != ANY:
        return Precondition(headers), await run_in_threadpool(then)

    def evaluated_then() -> Response | tuple[Precondition, T]:
        pre = _evaluate(request, db, account_id, answer, wanted, headers)
        return pre.not_modified if pre.not_modified is not None else (pre, then())

    return await run_in_threadpool(evaluated_then)


async def _prelude(request: Request, answer: Answer) -> tuple[Database, Wanted, dict[str, str]]:
    """The database, the tags asked for, the headers every answer carries; and the
    request pinned to the engine its reads go to (replicas)."""
    headers = {"Cache-Control": CACHE_CONTROL}
    if answer.vary is not None:
        headers["Vary"] = answer.vary
    db: Database = request.app.state.db
    if db.replicas.replicas and pinned.get() is None:
        pinned.set(await run_in_threadpool(db.read_engine))
    return db, requested_tags(request.headers), headers


def _evaluate(
    request: Request,
    db: Database,
    account_id: int,
    answer: Answer,
    wanted: Wanted,
    headers: dict[str, str],
) -> Precondition:
    """The positions read (it blocks: in a worker thread), the tag, the outcome."""
    with db.reading_one_statement() as conn:
        state = answer.read_state(conn, account_id)
    if state is None or not state.found:
        return Precondition(headers)
    tag = None
    if not (answer.clocked or state.ongoing):
        try:
            tag = _tag(request, account_id, answer, state)
        except SQLAlchemyError as exc:
            # The deployment's secret could not be made (a read-only database
            # that has none yet): the answer goes out untagged, not refused.
            log.warning("no ETag: the signing secret is unavailable: %s", exc)
        else:
            headers["ETag"] = tag
    matched = wanted == ANY or (tag is not None and wanted is not None and tag[2:] in wanted)
    not_modified = Response(status_code=304, headers=headers) if matched else None
    return Precondition(headers, not_modified, state.last_seq)


async def held_precondition(
    request: Request, account_id: int, answer: FeedAnswer, waiter: ChangeWaiter, deadline: float
) -> Precondition:
    """``precondition`` for a long poll: while the client holds the current answer,
    wait for the account to move on (then the answer is in full) until ``deadline``
    (``time.monotonic()``), then 304."""
    pre = await precondition(request, account_id, answer)
    while pre.not_modified is not None and pre.last_seq is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        seen = pre.last_seq
        await waiter.wait(account_id, seen, remaining)
        pre = await precondition(request, account_id, answer)
        if pre.last_seq == seen:
            # Woken by a position this snapshot does not show yet (a replica
            # behind the one the waiter reads): no busy loop meanwhile.
            await asyncio.sleep(min(RECHECK_SECONDS, max(0.0, deadline - time.monotonic())))
    return pre


def _tag(request: Request, account_id: int, answer: Answer, state: AnswerState) -> str:
    signer: Signer = request.app.state.signer
    path, query = request.scope["path"], request.scope["query_string"].decode("latin-1")
    payload = orjson.dumps(
        [code_version(), path, query, answer.parts(), state.last_seq, state.pruned_seq]
    )
    return f'W/"{signer.digest(_KIND, account_id, payload)}"'
