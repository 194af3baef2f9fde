"""POST /ss/api/events: live reporting, idempotent and order-free."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import writer
from sharelog.api.body import decode_json
from sharelog.api.event_bodies import parse_events_body
from sharelog.api.openapi import EventsReply
from sharelog.api.operations import ERRORS
from sharelog.api.responses import json_response
from sharelog.domain import EventResult, Principal
from sharelog.ingest import Ingestor
from sharelog.limits import MAX_SHARES, MAX_VIEWERS

log = logging.getLogger("sharelog.events")

router = APIRouter(tags=["events"])


@router.post(
    "/ss/api/events",
    operation_id="postEvents",
    summary="Record live events (idempotent by event id, in any order)",
    response_model=EventsReply,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EventBatchBody"}}
            },
        }
    },
)
async def post_events(request: Request, principal: Principal = Depends(writer)) -> Response:
    raw = await request.body()
    ingestor: Ingestor = request.app.state.ingestor

    def parse_and_ingest() -> EventResult:
        # One trip to the thread pool for both, off the event loop: a batch is
        # parsed whole (nothing is written for a bad one), then merged.
        return ingestor.ingest_events(principal.account_id, parse_events_body(decode_json(raw)))

    result = await run_in_threadpool(parse_and_ingest)
    metrics = request.app.state.metrics
    metrics.count("events_accepted_total", result.accepted)
    metrics.count("events_duplicate_total", result.duplicates)
    reply = {
        "received": result.received,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
    }
    if result.over_limit:
        # Never dropped silently: reported to the sender, counted, and logged.
        reply["over_limit"] = result.over_limit
        metrics.count("events_over_limit_total", result.over_limit)
        log.warning(
            "account %d: %d events past a session's %d shares or %d viewers were not applied",
            principal.account_id,
            result.over_limit,
            MAX_SHARES,
            MAX_VIEWERS,
        )
    return json_response(reply)
