"""GET /ss/api/changes: the change feed, with long polling."""

from __future__ import annotations

import re
import time

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import reader
from sharelog.api.conditional import FeedAnswer, held_precondition
from sharelog.api.feed_wait import ChangeWaiter
from sharelog.api.openapi import ChangesPage
from sharelog.api.operations import CONDITIONAL_GET, ERRORS, GONE
from sharelog.api.params import int_param, single
from sharelog.api.responses import json_response
from sharelog.api.signing import Signer
from sharelog.code_version import code_version
from sharelog.domain import Principal
from sharelog.errors import Gone, InvalidParameter
from sharelog.limits import DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT, MAX_WAIT_SECONDS
from sharelog.store.changes import FeedPage, PositionGone, read_changes
from sharelog.store.database import Database
from sharelog.store.session_entries import Bodies
from sharelog.timestamps import now_us

router = APIRouter(tags=["changes"])

_TOKEN_KIND = "change-token"
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


def encode_position(signer: Signer, account_id: int, seq: int) -> str:
    return signer.seal(_TOKEN_KIND, account_id, orjson.dumps([seq]))


def decode_position(signer: Signer, account_id: int, token: str) -> int:
    payload = signer.open(_TOKEN_KIND, account_id, token)
    try:
        [seq] = orjson.loads(payload) if payload is not None else [None]
    except (orjson.JSONDecodeError, ValueError, TypeError):
        seq = None
    if type(seq) is not int or seq < 0:
        raise InvalidParameter("since", "not a change token this server made for this account")
    return seq


def _wait_seconds(text: str | None) -> float:
    if text is None:
        return 0.0
    if not text.isascii() or _SECONDS.fullmatch(text) is None:
        raise InvalidParameter("wait", f"not a number of seconds: {text!r}")
    seconds = float(text)
    if seconds > MAX_WAIT_SECONDS:
        raise InvalidParameter("wait", f"must be from 0 to {MAX_WAIT_SECONDS}, got {text}")
    return seconds


@router.get(
    "/ss/api/changes",
    operation_id="getChanges",
    openapi_extra=CONDITIONAL_GET,
    summary="Everything that changed since a position (incremental sync)",
    response_model=ChangesPage,
    responses={**ERRORS, **GONE},
)
async def get_changes(
    request: Request,
    principal: Principal = Depends(reader),
    since: str | None = Query(None, description="The `next` of the previous call."),
    limit: str | None = Query(None, description="1 to 1000, default 100."),
    wait: str | None = Query(None, description="Seconds to hold the request, 0 to 30."),
) -> Response:
    params = request.query_params
    signer: Signer = request.app.state.signer
    account_id = principal.account_id
    since_text = single(params, "since")
    limit_text = single(params, "limit")
    page_size = (
        DEFAULT_CHANGES_LIMIT
        if limit_text is None
        else int_param("limit", limit_text, 1, MAX_CHANGES_LIMIT)
    )
    wait_for = _wait_seconds(single(params, "wait"))
    position = 0 if since_text is None else decode_position(signer, account_id, since_text)
    db: Database = request.app.state.db
    waiter: ChangeWaiter = request.app.state.change_waiter
    deadline = time.monotonic() + wait_for
    answer = FeedAnswer(position, page_size)
    pre = await held_precondition(request, account_id, answer, waiter, deadline)
    if pre.not_modified is not None:
        return pre.not_modified

    def read() -> FeedPage:
        with db.reading() as conn:
            return read_changes(
                conn, account_id, position, page_size, now_us(), stored=code_version()
            )

    while True:
        try:
            page = await run_in_threadpool(read)
        except PositionGone:
            raise Gone(
                "since: this position is older than the deletions the server keeps; "
                "start again without since"
            ) from None
        remaining = deadline - time.monotonic()
        if page.changes or remaining <= 0:
            break
        await waiter.wait(account_id, page.latest_seq, remaining)
    response = json_response(
        {
            "changes": page.changes,
            "next": encode_position(signer, account_id, page.next_seq),
            "has_more": page.has_more,
        }
    )
    request.app.state.read_notes.note_after(response, db, account_id, Bodies.FEED)
    return pre.stamp(response)
