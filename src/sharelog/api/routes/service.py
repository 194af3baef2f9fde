"""Liveness, readiness and metrics: no key needed."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from sharelog.api.auth import client_address
from sharelog.api.errors import error_response
from sharelog.api.openapi import ErrorBody, ServiceStatus
from sharelog.api.operations import json_error
from sharelog.api.responses import json_response
from sharelog.errors import Forbidden, Unauthorized, Unavailable
from sharelog.store import migrate

router = APIRouter(tags=["service"])
PUBLIC: dict[str, Any] = {"security": []}


@router.get("/healthz", operation_id="healthz", response_model=ServiceStatus, openapi_extra=PUBLIC)
async def healthz() -> Response:
    """The process is up."""
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=ServiceStatus,
    responses={
        503: {
            "model": ErrorBody,
            "description": "unavailable: the database does not answer, or its schema is "
            "missing or not this version's",
        }
    },
    openapi_extra=PUBLIC,
)
async def readyz(request: Request) -> Response:
    """200 when the database answers with the schema this code needs, else 503.

    A balancer health-checks this: a process must not take traffic before
    ``sharelog db upgrade`` has run (nor after a rollback of the code past a newer
    schema), when every request would fail on a missing table or column.
    """
    # Both in a thread: the head is read from the migration files once, which
    # costs a second or more on a busy machine, and must not stall the loop.
    head = await run_in_threadpool(migrate.cached_head_revision)
    try:
        revision = await run_in_threadpool(migrate.current_revision, request.app.state.db.engine)
    except Exception:
        return error_response(Unavailable("the database does not answer"))
    if revision != head:
        return error_response(
            Unavailable(f"the database schema is at {revision or 'none'}, this code needs {head}")
        )
    return json_response({"status": "ready"})


@router.get(
    "/metrics",
    operation_id="metrics",
    responses={
        401: json_error(
            "unauthorized: SHARELOG_METRICS_TOKEN is set and the request does not carry "
            "it as a bearer token"
        ),
        403: json_error(
            "forbidden: no SHARELOG_METRICS_TOKEN is set and the client is not on this host"
        ),
    },
    openapi_extra=PUBLIC,
    response_class=PlainTextResponse,
)
async def metrics(request: Request) -> Response:
    """Prometheus text format: with ``SHARELOG_METRICS_TOKEN`` set, only for
    ``Authorization: Bearer <token>``; without it, only for clients on this host."""
    token = request.app.state.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("metrics need Authorization: Bearer <SHARELOG_METRICS_TOKEN>")
    elif client_address(request) is not None:
        # Tenant volumes are nobody's business beyond this host.
        raise Forbidden("metrics are served to clients on this host, or set SHARELOG_METRICS_TOKEN")
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
