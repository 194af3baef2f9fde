"""The account's webhook endpoints and their delivery logs (admin).

Thin: parsing and the rules are in ``sharelog.webhooks.admin``, shared with the CLI.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import administrator
from sharelog.api.body import read_json
from sharelog.api.openapi import (
    MessagePage,
    QueuedMessage,
    ReplayReply,
    Webhook,
    WebhookList,
    WebhookWithSecret,
)
from sharelog.api.operations import ERRORS
from sharelog.api.pages import decode_cursor, encode_cursor, limit_param, object_body
from sharelog.api.params import single, timestamp_param
from sharelog.api.responses import json_response
from sharelog.config import Settings
from sharelog.domain import Principal
from sharelog.errors import InvalidParameter
from sharelog.store import outbox
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp
from sharelog.webhooks import admin
from sharelog.webhooks.addresses import Resolver

router = APIRouter(tags=["webhooks"])
EndpointId = Path(description="The endpoint's id.")


def _context(request: Request) -> tuple[Database, Resolver, bool]:
    settings: Settings = request.app.state.settings
    return request.app.state.db, request.app.state.webhook_resolver, settings.webhook_allow_private


@router.post(
    "/ss/api/webhooks",
    operation_id="createWebhook",
    summary="Register an endpoint; its secret is shown only here",
    status_code=201,
    response_model=WebhookWithSecret,
    responses=ERRORS,
)
async def create_webhook(
    request: Request, principal: Principal = Depends(administrator)
) -> Response:
    body = object_body(await read_json(request))
    db, resolver, allow_private = _context(request)
    created = await run_in_threadpool(
        admin.create, db, principal.account_id, principal.key_prefix, body, resolver, allow_private
    )
    return json_response(created, status_code=201)


@router.get(
    "/ss/api/webhooks",
    operation_id="listWebhooks",
    summary="The account's endpoints, without secrets",
    response_model=WebhookList,
    responses=ERRORS,
)
async def list_webhooks(
    request: Request, principal: Principal = Depends(administrator)
) -> Response:
    found = await run_in_threadpool(admin.listing, request.app.state.db, principal.account_id)
    return json_response({"webhooks": [admin.endpoint_json(e) for e in found]})


@router.get(
    "/ss/api/webhooks/{endpoint_id}",
    operation_id="getWebhook",
    summary="One endpoint",
    response_model=Webhook,
    responses=ERRORS,
)
async def get_webhook(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    found = await run_in_threadpool(
        admin.get, request.app.state.db, principal.account_id, endpoint_id
    )
    return json_response(admin.endpoint_json(found))


@router.patch(
    "/ss/api/webhooks/{endpoint_id}",
    operation_id="updateWebhook",
    summary="Change url, events, description or enabled",
    response_model=Webhook,
    responses=ERRORS,
)
async def update_webhook(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    body = object_body(await read_json(request))
    db, resolver, allow_private = _context(request)
    found = await run_in_threadpool(
        admin.update,
        db,
        principal.account_id,
        principal.key_prefix,
        endpoint_id,
        body,
        resolver,
        allow_private,
    )
    return json_response(admin.endpoint_json(found))


@router.delete(
    "/ss/api/webhooks/{endpoint_id}",
    operation_id="deleteWebhook",
    summary="Delete an endpoint and its messages",
    status_code=204,
    responses=ERRORS,
)
async def delete_webhook(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    await run_in_threadpool(
        admin.delete, request.app.state.db, principal.account_id, principal.key_prefix, endpoint_id
    )
    return Response(status_code=204)


@router.post(
    "/ss/api/webhooks/{endpoint_id}/rotate-secret",
    operation_id="rotateWebhookSecret",
    summary="A new secret; the previous one keeps signing for 24 hours",
    response_model=WebhookWithSecret,
    responses=ERRORS,
)
async def rotate_secret(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    rotated = await run_in_threadpool(
        admin.rotate, request.app.state.db, principal.account_id, principal.key_prefix, endpoint_id
    )
    return json_response(rotated)


@router.post(
    "/ss/api/webhooks/{endpoint_id}/test",
    operation_id="testWebhook",
    summary="Queue a webhook.test message",
    status_code=202,
    response_model=QueuedMessage,
    responses=ERRORS,
)
async def test_webhook(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    message_id = await run_in_threadpool(
        admin.send_test, request.app.state.db, principal.account_id, endpoint_id
    )
    return json_response({"id": message_id}, status_code=202)


@router.get(
    "/ss/api/webhooks/{endpoint_id}/messages",
    operation_id="listWebhookMessages",
    summary="The delivery log, newest first",
    response_model=MessagePage,
    responses=ERRORS,
)
async def list_messages(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    params = request.query_params
    status = single(params, "status")
    if status is not None and status not in outbox.STATUSES:
        raise InvalidParameter("status", f"must be one of {', '.join(outbox.STATUSES)}")
    limit = limit_param(params)
    cursor = single(params, "cursor")
    before = None
    if cursor is not None:
        created_us, message_id = decode_cursor(f"messages:{endpoint_id}", cursor, (int, str))
        before = (created_us, message_id)
    db: Database = request.app.state.db
    await run_in_threadpool(admin.get, db, principal.account_id, endpoint_id)

    def load() -> list[Any]:
        with db.reading(primary=True) as conn:
            return outbox.message_log(
                conn,
                principal.account_id,
                endpoint_id,
                status=status,
                before=before,
                limit=limit + 1,
            )

    rows = await run_in_threadpool(load)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(f"messages:{endpoint_id}", [page[-1].created_us, page[-1].id])
    return json_response(
        {
            "messages": [
                {
                    "id": r.id,
                    "type": r.type,
                    "created": format_timestamp(r.created_us),
                    "status": r.status,
                    "attempts": r.attempts,
                    "next_attempt": None
                    if r.next_attempt_us is None
                    else format_timestamp(r.next_attempt_us),
                    "last_status_code": r.last_status_code,
                    "last_error": r.last_error,
                }
                for r in page
            ],
            "next_cursor": next_cursor,
        }
    )


@router.post(
    "/ss/api/webhooks/{endpoint_id}/replay",
    operation_id="replayWebhook",
    summary="Queue again every message created since a time",
    status_code=202,
    response_model=ReplayReply,
    responses=ERRORS,
)
async def replay(
    request: Request, endpoint_id: str = EndpointId, principal: Principal = Depends(administrator)
) -> Response:
    body = object_body(await read_json(request))
    if "since" not in body:
        raise InvalidParameter("since", "is required")
    since_us = timestamp_param("since", body["since"])
    count = await run_in_threadpool(
        admin.replay, request.app.state.db, principal.account_id, endpoint_id, since_us
    )
    return json_response({"queued": count}, status_code=202)
