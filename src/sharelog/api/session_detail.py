"""``GET /ss/api/sessions/{id}``: the session, its ``viewers.list`` whole or a page of it.

Without ``viewers_limit`` or ``viewers_cursor`` the list is whole, as the
contract has it. A session within the cap (MAX_VIEWERS) is read in one
snapshot and sent as one body; a longer one (only a database that took
events before the cap can hold one) is streamed, ``VIEWER_CHUNK`` viewers at
a time, each chunk read in a short snapshot of its own and continuing by
keyset strictly after the last viewer sent, as usage documents are: memory
stays flat and no connection waits on a slow client. With either parameter
the answer is one page and ``viewers.next_cursor`` (null on the last page).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.responses import Response, StreamingResponse

from sharelog.api.params import int_param, single
from sharelog.api.responses import json_response
from sharelog.api.signing import Signer
from sharelog.errors import InvalidParameter
from sharelog.limits import MAX_ID, MAX_VIEWERS, MAX_VIEWERS_LIMIT
from sharelog.store import details
from sharelog.store.database import Database
from sharelog.store.details import SessionHead, ViewerPosition
from sharelog.timestamps import MAX_US, MIN_US

VIEWER_CHUNK = MAX_VIEWERS
_CURSOR_KIND = "viewers-cursor"


@dataclass(frozen=True, slots=True)
class ViewersPage:
    """What a paged request asks: at most ``limit`` viewers after ``after``."""

    limit: int
    after: ViewerPosition | None


def parse_viewers_page(
    params: QueryParams, signer: Signer, account_id: int, session_id: str
) -> ViewersPage | None:
    """The page asked for, or None for the whole list; 400 naming the bad parameter."""
    limit_text = single(params, "viewers_limit")
    cursor_text = single(params, "viewers_cursor")
    if limit_text is None and cursor_text is None:
        return None
    limit = (
        MAX_VIEWERS_LIMIT
        if limit_text is None
        else int_param("viewers_limit", limit_text, 1, MAX_VIEWERS_LIMIT)
    )
    after = None
    if cursor_text is not None:
        after = _open_cursor(cursor_text, signer, account_id, session_id)
    return ViewersPage(limit, after)


def _seal_cursor(signer: Signer, account_id: int, session_id: str, after: ViewerPosition) -> str:
    return signer.seal(_CURSOR_KIND, account_id, orjson.dumps([session_id, *after]))


def _open_cursor(text: str, signer: Signer, account_id: int, session_id: str) -> ViewerPosition:
    payload = signer.open(_CURSOR_KIND, account_id, text)
    try:
        if payload is None:
            raise ValueError("bad tag")
        sid, joined_us, viewer_id = orjson.loads(payload)
        # Should the secret leak, a forged cursor must still hold only what the
        # server could have written.
        if type(joined_us) is not int or not MIN_US <= joined_us <= MAX_US:
            raise ValueError("instant out of range")
        if type(sid) is not str or type(viewer_id) is not str or len(viewer_id) > MAX_ID:
            raise ValueError("malformed")
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidParameter("viewers_cursor", "not a cursor this server made") from None
    if sid != session_id:
        raise InvalidParameter("viewers_cursor", "made for another session")
    return joined_us, viewer_id


def session_response(
    db: Database,
    signer: Signer,
    account_id: int,
    session_id: str,
    page: ViewersPage | None,
    now_us: int,
) -> Response | None:
    """The answer for the session, or None when the account has no such session."""
    # One more than fits: whether another chunk, or another page, follows.
    take = VIEWER_CHUNK + 1 if page is None else page.limit + 1
    with db.reading() as conn:
        head = details.session_head(conn, account_id, session_id, now_us)
        if head is None:
            return None
        first = details.viewer_entries(
            conn,
            account_id,
            session_id,
            head.runs_to_us,
            limit=take,
            after=None if page is None else page.after,
        )
    viewers = head.session["viewers"]
    if page is not None:
        listed = first[: page.limit]
        viewers["list"] = [entry for _, entry in listed]
        more = len(first) > page.limit
        viewers["next_cursor"] = (
            _seal_cursor(signer, account_id, session_id, listed[-1][0]) if more else None
        )
        return json_response(head.session)
    if len(first) <= VIEWER_CHUNK:
        viewers["list"] = [entry for _, entry in first]
        return json_response(head.session)
    return StreamingResponse(
        _streamed(db, account_id, session_id, head, first), media_type="application/json"
    )


def _streamed(
    db: Database,
    account_id: int,
    session_id: str,
    head: SessionHead,
    first: list[tuple[ViewerPosition, dict[str, Any]]],
) -> Iterator[bytes]:
    """The session's JSON with ``viewers.list`` written chunk by chunk, keys in the
    order of the whole body's."""
    session = head.session
    keys = list(session)
    before = {k: session[k] for k in keys[: keys.index("viewers")]}
    after = {k: session[k] for k in keys[keys.index("viewers") + 1 :]}
    yield orjson.dumps(before)[:-1] + b',"viewers":' + orjson.dumps(session["viewers"])[:-1]
    yield b',"list":[' + orjson.dumps([entry for _, entry in first])[1:-1]
    last, full = first[-1][0], True
    while full:
        with db.reading() as conn:
            chunk = details.viewer_entries(
                conn, account_id, session_id, head.runs_to_us, limit=VIEWER_CHUNK, after=last
            )
        if chunk:
            yield b"," + orjson.dumps([entry for _, entry in chunk])[1:-1]
            last = chunk[-1][0]
        full = len(chunk) == VIEWER_CHUNK
    yield b"]}" + (b"," + orjson.dumps(after)[1:] if after else b"}")
