"""The account's own API keys, with an admin key: list, create, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sharelog.api.auth import administrator
from sharelog.api.body import read_json
from sharelog.api.openapi import CreatedKey, KeyList
from sharelog.api.operations import ERRORS
from sharelog.api.pages import object_body
from sharelog.api.responses import json_response
from sharelog.domain import Principal, Scope
from sharelog.errors import InvalidParameter, NotFound
from sharelog.store import accounts as account_store
from sharelog.store import audit
from sharelog.store.accounts import DISPLAY_PREFIX_LENGTH
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp, now_us

router = APIRouter(tags=["administration"])


def _optional_time(us: int | None) -> str | None:
    return None if us is None else format_timestamp(us)


@router.get(
    "/ss/api/keys",
    operation_id="listKeys",
    summary="The account's API keys (admin)",
    response_model=KeyList,
    responses=ERRORS,
)
async def list_keys(request: Request, principal: Principal = Depends(administrator)) -> Response:
    db: Database = request.app.state.db

    def load() -> list[dict[str, object]]:
        with db.reading(primary=True) as conn:
            rows = account_store.account_keys(conn, principal.account_id)
        return [
            {
                "prefix": r.prefix,
                "scope": r.scope,
                "created": format_timestamp(r.created_us),
                "revoked": _optional_time(r.revoked_us),
                "last_used": _optional_time(r.last_used_us),
            }
            for r in rows
        ]

    return json_response({"keys": await run_in_threadpool(load)})


@router.post(
    "/ss/api/keys",
    operation_id="createKey",
    summary="Create an API key, shown only in this answer (admin)",
    status_code=201,
    response_model=CreatedKey,
    responses=ERRORS,
)
async def create_key(request: Request, principal: Principal = Depends(administrator)) -> Response:
    body = object_body(await read_json(request))
    for name in body:
        if name != "scope":
            raise InvalidParameter(str(name)[:100], "unknown field; allowed: scope")
    if body.get("scope") not in [s.value for s in Scope]:
        raise InvalidParameter("scope", "must be read, write or admin")
    scope = Scope(body["scope"])
    db: Database = request.app.state.db

    def create() -> dict[str, object]:
        now = now_us()
        with db.writing(principal.account_id) as conn:
            key = account_store.create_key(conn, principal.account_id, scope, now)
            prefix = key[:DISPLAY_PREFIX_LENGTH]
            audit.record(
                conn, principal.account_id, principal.key_prefix, "key.created", prefix, now
            )
        return {
            "key": key,
            "prefix": prefix,
            "scope": scope.value,
            "created": format_timestamp(now),
        }

    return json_response(await run_in_threadpool(create), status_code=201)


@router.delete(
    "/ss/api/keys/{prefix}",
    operation_id="revokeKey",
    summary="Revoke one of the account's keys (admin)",
    status_code=204,
    responses=ERRORS,
)
async def revoke_key(
    request: Request,
    prefix: str = Path(description="The key's 12-character display prefix."),
    principal: Principal = Depends(administrator),
) -> Response:
    db: Database = request.app.state.db
    if len(prefix) != DISPLAY_PREFIX_LENGTH or not prefix.isascii() or not prefix.isprintable():
        raise NotFound(f"no key {prefix[:40]!r} in this account")

    def revoke() -> bool | None:
        now = now_us()
        with db.writing(principal.account_id) as conn:
            done = account_store.revoke_account_key(conn, principal.account_id, prefix, now)
            if done:
                audit.record(
                    conn, principal.account_id, principal.key_prefix, "key.revoked", prefix, now
                )
        return done

    if await run_in_threadpool(revoke) is None:
        raise NotFound(f"no key {prefix!r} in this account")
    return Response(status_code=204)
