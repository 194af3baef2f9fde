"""GET /ss/api/audit: what was done with admin rights, newest first (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.administration import audit_entry_json
from sharelog.api.auth import administrator
from sharelog.api.openapi import AuditPage
from sharelog.api.operations import ERRORS
from sharelog.api.pages import decode_cursor, encode_cursor, limit_param
from sharelog.api.params import single
from sharelog.api.responses import json_response
from sharelog.domain import Principal
from sharelog.store import audit
from sharelog.store.database import Database

router = APIRouter(tags=["administration"])


@router.get(
    "/ss/api/audit",
    operation_id="getAudit",
    summary="The audit log, newest first (admin)",
    response_model=AuditPage,
    responses=ERRORS,
)
async def get_audit(request: Request, principal: Principal = Depends(administrator)) -> Response:
    limit = limit_param(request.query_params)
    cursor = single(request.query_params, "cursor")
    before = decode_cursor("audit", cursor, (int,))[0] if cursor is not None else None
    db: Database = request.app.state.db

    def load() -> list[dict[str, Any]]:
        with db.reading(primary=True) as conn:
            return audit.entries(conn, principal.account_id, before_id=before, limit=limit + 1)

    rows = await run_in_threadpool(load)
    page = rows[:limit]
    return json_response(
        {
            "entries": [audit_entry_json(r) for r in page],
            "next_cursor": encode_cursor("audit", [page[-1]["id"]]) if len(rows) > limit else None,
        }
    )
