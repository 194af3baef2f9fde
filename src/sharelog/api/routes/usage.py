"""GET /ss/api/usage: the usage history, streamed."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response

from sharelog.api.auth import reader
from sharelog.api.body import read_json
from sharelog.api.conditional import WindowAnswer, precondition_then, usage_answer
from sharelog.api.openapi import ClientSummary, UsageDocument, UsageNewDocument
from sharelog.api.operations import AGENT, ERRORS, FROM, TO, USAGE_PARAMETERS, documented
from sharelog.api.responses import json_response
from sharelog.api.streaming import open_usage_stream, usage_response
from sharelog.api.usage_request import UsageRequest, parse_usage_request
from sharelog.code_version import code_version
from sharelog.domain import Principal
from sharelog.errors import InvalidParameter
from sharelog.store.clients import client_summary
from sharelog.store.session_entries import Bodies
from sharelog.timestamps import now_us

router = APIRouter(tags=["usage"])


@router.get(
    "/ss/api/usage",
    operation_id="getUsage",
    openapi_extra=documented(USAGE_PARAMETERS, conditional=True),
    summary="Retrieve usage history",
    response_model=UsageDocument,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            }
        },
        **ERRORS,
    },
)
async def get_usage(
    request: Request,
    principal: Principal = Depends(reader),
) -> Response:
    """Summary statistics and the session list of a half-open window ``from <= start < to``."""
    usage = await _window_body(request)
    signer = request.app.state.signer
    parsed = parse_usage_request(
        request.query_params, request.headers, usage, now_us(), (signer, principal.account_id)
    )
    state, account_id = request.app.state, principal.account_id
    stored = code_version() if state.settings.session_entries else None
    opened = partial(
        open_usage_stream, state.db, account_id, parsed, signer, state.usage_stats, stored
    )
    answered = await precondition_then(request, account_id, usage_answer(parsed), opened)
    if isinstance(answered, Response):
        return answered
    pre, (stream, body) = answered
    response = usage_response(stream, request.url.path, request.query_params, body)
    if stream.stored is not None:
        state.read_notes.note_after(response, state.db, account_id, Bodies.USAGE)
    return pre.stamp(response)


async def _window_body(request: Request) -> dict[str, Any] | None:
    body = await read_json(request, required=False)
    if body is not None and not isinstance(body, dict):
        raise InvalidParameter("body", 'must be a JSON object such as {"from": ..., "to": ...}')
    window: dict[str, Any] | None = body
    return window


_WINDOW_PARAMS = ("from", "to", "agent")


def _window_only(request: Request, window: dict[str, Any] | None, account_id: int) -> UsageRequest:
    """Usage's window, defaults and agent filter; its other parameters (limit,
    cursor, include, format) are not these endpoints' and are ignored."""
    params = QueryParams(
        [(k, v) for k, v in request.query_params.multi_items() if k in _WINDOW_PARAMS]
    )
    cursors = (request.app.state.signer, account_id)
    return parse_usage_request(params, Headers(), window, now_us(), cursors)


@router.get(
    "/ss/api/usage_new",
    operation_id="getUsageNew",
    openapi_extra=documented([FROM, TO, AGENT], conditional=True),
    summary="Usage history in CrankWheel's newer shape",
    response_model=UsageNewDocument,
    responses=ERRORS,
)
async def get_usage_new(
    request: Request,
    principal: Principal = Depends(reader),
) -> Response:
    """Every session of the window (as ``/ss/api/usage``: same window, defaults and
    agent filter), streamed, with peak viewers, webcam seconds and located viewers."""
    window = await _window_body(request)
    parsed = replace(
        _window_only(request, window, principal.account_id),
        format="usage_new",
        include=frozenset({"sessions"}),
    )
    state, account_id = request.app.state, principal.account_id
    opened = partial(open_usage_stream, state.db, account_id, parsed, state.signer)
    answered = await precondition_then(request, account_id, WindowAnswer(parsed.query), opened)
    if isinstance(answered, Response):
        return answered
    pre, (stream, body) = answered
    return pre.stamp(usage_response(stream, request.url.path, request.query_params, body))


@router.get(
    "/ss/api/usage/clients",
    operation_id="getUsageClients",
    openapi_extra=documented([FROM, TO, AGENT], conditional=False),
    summary="Viewers' browsers, systems and devices, and the highest peak, over a window",
    response_model=ClientSummary,
    responses=ERRORS,
)
async def get_usage_clients(
    request: Request,
    principal: Principal = Depends(reader),
) -> Response:
    """What the dashboard's overview shows beside usage's stats (not in the contract)."""
    query = _window_only(request, await _window_body(request), principal.account_id).query
    db = request.app.state.db

    def load() -> dict[str, Any]:
        with db.reading() as conn:
            return client_summary(conn, principal.account_id, query)

    return json_response(await run_in_threadpool(load))
