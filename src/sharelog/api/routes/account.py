"""The account itself (admin): its settings, and erasure of an agent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.administration import account_json
from sharelog.api.auth import administrator
from sharelog.api.body import read_json
from sharelog.api.openapi import AccountInfo, DeletedCount
from sharelog.api.operations import ERRORS
from sharelog.api.params import email_param
from sharelog.api.responses import json_response
from sharelog.domain import Principal
from sharelog.errors import InvalidParameter
from sharelog.limits import MAX_RETENTION_DAYS
from sharelog.removal import Remover
from sharelog.store import accounts as account_store
from sharelog.store import audit
from sharelog.store.database import Database
from sharelog.timestamps import now_us

router = APIRouter(tags=["administration"])

PATCHABLE = ("retention_days",)


def parse_account_patch(body: object) -> dict[str, Any]:
    """The fields to change; raise InvalidParameter naming the first bad one."""
    if not isinstance(body, dict):
        raise InvalidParameter("body", 'must be a JSON object such as {"retention_days": 365}')
    for name in body:
        if name not in PATCHABLE:
            raise InvalidParameter(
                name, f"not a field that can be changed ({', '.join(PATCHABLE)})"
            )
    if "retention_days" in body:
        days = body["retention_days"]
        if days is not None and (type(days) is not int or not 1 <= days <= MAX_RETENTION_DAYS):
            raise InvalidParameter(
                "retention_days",
                f"must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, or null",
            )
    return dict(body)


@router.get(
    "/ss/api/account",
    operation_id="getAccount",
    summary="The key's account",
    response_model=AccountInfo,
    responses=ERRORS,
)
async def get_account(request: Request, principal: Principal = Depends(administrator)) -> Response:
    db: Database = request.app.state.db

    def load() -> dict[str, Any]:
        with db.reading(primary=True) as conn:
            return account_store.account_info(conn, principal.account_id)

    return json_response(account_json(await run_in_threadpool(load)))


@router.patch(
    "/ss/api/account",
    operation_id="patchAccount",
    summary="Change the account's settings (retention_days)",
    response_model=AccountInfo,
    responses=ERRORS,
)
async def patch_account(
    request: Request, principal: Principal = Depends(administrator)
) -> Response:
    changes = parse_account_patch(await read_json(request))
    db: Database = request.app.state.db
    account_id = principal.account_id

    def apply() -> dict[str, Any]:
        with db.writing(account_id) as conn:
            if "retention_days" in changes:
                days = changes["retention_days"]
                account_store.set_retention(conn, account_id, days)
                audit.record(
                    conn,
                    account_id,
                    principal.key_prefix,
                    "account.updated",
                    f"retention_days={'null' if days is None else days}",
                    now_us(),
                )
            return account_store.account_info(conn, account_id)

    info = await run_in_threadpool(apply)
    if changes.get("retention_days") is not None:
        # A shorter retention applies now, not at the next hourly sweep.
        request.app.state.retention.run_soon()
    return json_response(account_json(info))


@router.delete(
    "/ss/api/agents/{email}",
    operation_id="eraseAgent",
    summary="Erase an agent: every session the agent presented, and the agent",
    response_model=DeletedCount,
    responses=ERRORS,
)
async def erase_agent(
    request: Request,
    email: str = Path(description="The agent's email."),
    principal: Principal = Depends(administrator),
) -> Response:
    address = email_param("email", email)
    remover: Remover = request.app.state.remover
    deleted = await run_in_threadpool(
        remover.erase_agent, principal.account_id, address, principal.key_prefix
    )
    return json_response({"deleted": deleted})
