"""One place turns every failure into the contract's JSON error body."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.responses import Response

from sharelog.api.responses import json_response
from sharelog.errors import (
    InvalidParameter,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    SharelogError,
    Unauthorized,
    Unavailable,
)
from sharelog.store.database import RETRY_AFTER_SECONDS

log = logging.getLogger("sharelog.api")

_BY_STATUS: dict[int, type[SharelogError]] = {
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
}


def error_response(
    error: SharelogError, headers: dict[str, str] | None = None, *, challenge: bool = True
) -> Response:
    headers = dict(headers or {})
    if isinstance(error, Unauthorized) and challenge:
        headers["WWW-Authenticate"] = 'Basic realm="sharelog"'
    if isinstance(error, RateLimited | Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    return json_response(error.body(), status_code=error.status, headers=headers)


async def _sharelog_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SharelogError)
    # A browser answers a Basic challenge to fetch() with a login dialog; scripts
    # that say X-Requested-With (the dashboard) get the 401 without it.
    scripted = request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"
    return error_response(exc, challenge=not scripted)


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    kind = _BY_STATUS.get(exc.status_code)
    if kind is not None:
        message = {
            404: "no such route",
            405: "method not allowed here",
            413: "request body too large",
        }
        return error_response(kind(message[exc.status_code]), dict(exc.headers or {}))
    if exc.status_code == 400:
        return error_response(InvalidParameter("body", str(exc.detail)))
    error = SharelogError(str(exc.detail))
    error.status = exc.status_code
    return error_response(error, dict(exc.headers or {}))


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("query", "path", "header")]
    parameter = ".".join(loc) or "body"
    return error_response(InvalidParameter(parameter, str(first.get("msg", "invalid"))))


async def _database_error(_: Request, exc: Exception) -> Response:
    # No connection free in the pool within SHARELOG_POOL_TIMEOUT_SECONDS, a
    # statement past its timeout, or the database away: busy, not broken.
    log.warning("database unavailable: %s", exc)
    message = (
        "the server is busy; try again shortly"
        if isinstance(exc, PoolTimeout)
        else "the database is unavailable; try again shortly"
    )
    return error_response(Unavailable(message, retry_after=RETRY_AFTER_SECONDS))


async def _driver_error(request: Request, exc: Exception) -> Response:
    """A statement the database refused: unavailable when it is the server's state, not ours.

    During a failover a connection may reach a server that is (still, or
    again) read-only; that is the cluster's moment, answered like a server down.
    """
    assert isinstance(exc, DBAPIError)
    if isinstance(exc.orig, psycopg.errors.ReadOnlySqlTransaction | psycopg.OperationalError):
        return await _database_error(request, exc)
    return await _unexpected(request, exc)


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return error_response(SharelogError("internal error"))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SharelogError, _sharelog_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(InterfaceError, _database_error)
    # The pool waited its timeout for a connection (all busy, or none can be made).
    app.add_exception_handler(PoolTimeout, _database_error)
    # Raised by the driver itself where no SQLAlchemy wrapper stands in between.
    app.add_exception_handler(psycopg.OperationalError, _database_error)
    app.add_exception_handler(DBAPIError, _driver_error)
    app.add_exception_handler(Exception, _unexpected)
