"""GET /ss/api/sessions/{id} and POST /ss/api/sessions."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import reader, writer
from sharelog.api.bodies import parse_sessions_body
from sharelog.api.body import read_body
from sharelog.api.conditional import SessionAnswer, precondition
from sharelog.api.openapi import IngestReply, SessionDetail
from sharelog.api.operations import CONDITIONAL_GET, ERRORS
from sharelog.api.responses import json_response
from sharelog.api.session_detail import parse_viewers_page, session_response
from sharelog.domain import Principal
from sharelog.errors import NotFound
from sharelog.limits import ID_PATTERN, MAX_VIEWERS_LIMIT
from sharelog.removal import Remover
from sharelog.timestamps import now_us

router = APIRouter(tags=["sessions"])


@router.get(
    "/ss/api/sessions/{session_id}",
    operation_id="getSession",
    openapi_extra=CONDITIONAL_GET,
    summary="One session, with its viewers listed",
    response_model=SessionDetail,
    responses=ERRORS,
)
async def get_session(
    request: Request,
    session_id: str = Path(description="The session id."),
    viewers_limit: str | None = Query(
        None,
        description=f"Page viewers.list: at most this many viewers, 1 to {MAX_VIEWERS_LIMIT} "
        f"(default {MAX_VIEWERS_LIMIT} when only viewers_cursor is given). Without either "
        "parameter the list is whole.",
    ),
    viewers_cursor: str | None = Query(
        None, description="viewers.next_cursor of the previous page of this session's viewers."
    ),
    principal: Principal = Depends(reader),
) -> Response:
    """The session as in usage, with ``viewers.list`` ordered by ``joined``, then ``id``.

    With ``viewers_limit`` or ``viewers_cursor`` the list is one page, and
    ``viewers.next_cursor`` is the cursor of the next (null on the last page).
    """
    # No session can have an id outside the pattern; and PostgreSQL refuses some
    # of them (a NUL) outright, which must be a 404, not a 500.
    if re.fullmatch(ID_PATTERN, session_id) is None:
        raise NotFound(f"no session {session_id!r} in this account")
    signer = request.app.state.signer
    page = parse_viewers_page(request.query_params, signer, principal.account_id, session_id)
    shape = () if page is None else (page.limit, page.after)
    pre = await precondition(request, principal.account_id, SessionAnswer(session_id, shape))
    if pre.not_modified is not None:
        return pre.not_modified
    response = await run_in_threadpool(
        session_response,
        request.app.state.db,
        signer,
        principal.account_id,
        session_id,
        page,
        now_us(),
    )
    if response is None:
        raise NotFound(f"no session {session_id!r} in this account")
    return pre.stamp(response)


@router.delete(
    "/ss/api/sessions/{session_id}",
    operation_id="deleteSession",
    summary="Delete one session with its shares and viewers",
    status_code=204,
    responses=ERRORS,
)
async def delete_session(
    request: Request,
    session_id: str = Path(description="The session id."),
    principal: Principal = Depends(writer),
) -> Response:
    if re.fullmatch(ID_PATTERN, session_id) is None:
        raise NotFound(f"no session {session_id!r} in this account")
    remover: Remover = request.app.state.remover
    if not await run_in_threadpool(remover.delete_session, principal.account_id, session_id):
        raise NotFound(f"no session {session_id!r} in this account")
    return Response(status_code=204)


@router.post(
    "/ss/api/sessions",
    operation_id="postSessions",
    summary="Record whole sessions (create or replace by id)",
    response_model=IngestReply,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/SessionBatchBody"},
                            {"$ref": "#/components/schemas/SessionBody"},
                        ]
                    }
                }
            },
        }
    },
)
async def post_sessions(request: Request, principal: Principal = Depends(writer)) -> Response:
    batch = await read_body(request, parse_sessions_body)
    result = await run_in_threadpool(
        request.app.state.ingestor.import_sessions, principal.account_id, batch
    )
    metrics = request.app.state.metrics
    metrics.count("sessions_created_total", result.created)
    metrics.count("sessions_replaced_total", result.replaced)
    return json_response(
        {"received": result.received, "created": result.created, "replaced": result.replaced}
    )
