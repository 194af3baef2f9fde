"""API keys from the Authorization header, in the four forms the contract accepts."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import NoReturn

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from sharelog.api.ratelimit import RateLimiter
from sharelog.api.shared_ratelimit import SharedRateLimiter
from sharelog.domain import Principal, Scope
from sharelog.errors import Forbidden, Unauthorized, Unavailable
from sharelog.geo.locator import parse_ip
from sharelog.proxies import TrustedProxies
from sharelog.store import accounts as account_store
from sharelog.store.accounts import KEY_PREFIX
from sharelog.store.database import Database
from sharelog.store.replicas import written
from sharelog.timestamps import now_us

MAX_KEY_LENGTH = 200
MINUTE_US = 60_000_000
log = logging.getLogger("sharelog.api")


def _touch(db: Database, principal: Principal, minute_us: int) -> None:
    """Record the key's use, to the minute: one small write a minute per key at most.

    Bookkeeping, not the request's own write: it never fails the request (a
    busy writer lock only delays it, up to the busy timeout) and gives a read
    no ``Sharelog-Position``.
    """
    request_writes = written.set(None)
    try:
        with db.writing() as conn:
            account_store.touch_key(conn, principal.account_id, principal.key_prefix, minute_us)
    except (SQLAlchemyError, Unavailable) as exc:
        log.warning("could not record the use of key %s: %s", principal.key_prefix, exc)
    finally:
        written.reset(request_writes)


def key_from_header(header: str | None) -> str | None:
    """``Basic <key>`` (CrankWheel's form), ``Bearer <key>``, HTTP Basic of ``<key>:``,
    or the bare key (what pasting a key into the header per CrankWheel's instructions gives)."""
    if not header:
        return None
    bare = header.strip()
    if " " not in bare:
        return bare if len(bare) <= 4 * MAX_KEY_LENGTH else None
    scheme, _, token = bare.partition(" ")
    token = token.strip()
    if not token or len(token) > 4 * MAX_KEY_LENGTH:
        return None
    scheme = scheme.lower()
    if scheme == "bearer":
        return token
    if scheme != "basic":
        return None
    if token.startswith(KEY_PREFIX):
        return token
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    # `curl -u KEY:` sends the key as the user; accept `-u :KEY` as well.
    return user or password or None


def client_address(request: Request) -> str | None:
    """The address failed authentications count against; None for a client on this
    host: a loopback address, or a peer with no IP address at all (a unix socket,
    an in-process client such as Starlette's test client, "testclient").

    ``X-Forwarded-For`` is believed only from a peer in ``SHARELOG_TRUSTED_PROXIES``:
    the client is then its last hop that is not itself a trusted proxy. Loopback
    is exempt when no trusted proxy names another address.
    """
    host = request.client.host if request.client else "unknown"
    trusted: TrustedProxies = request.app.state.trusted_proxies
    host = trusted.client_of(host, request.headers.getlist("x-forwarded-for"))
    ip = parse_ip(host)
    return None if ip is None or ip.is_loopback else host


def _refuse(request: Request, message: str) -> NoReturn:
    """Count a failed authentication against the client's address, then refuse it.

    Only failures count, and only once the key was looked up: behind a balancer
    every client may share one address, and a valid key must never be locked
    out by somebody else's bad ones. Keys are ~190 bits: the limit keeps logs
    and the database quiet, not the keys safe.
    """
    address = client_address(request)
    if address is not None:
        failures: RateLimiter = request.app.state.auth_failures
        failures.take(address)
    raise Unauthorized(message)


async def authenticate(request: Request) -> Principal:
    key = key_from_header(request.headers.get("authorization"))
    if key is None:
        _refuse(request, "an API key is required: Authorization: Basic <key>")
    if len(key) > MAX_KEY_LENGTH:
        _refuse(request, "unknown or revoked API key")
    db: Database = request.app.state.db

    def lookup() -> Principal | None:
        # Its own pool: a key check never waits behind the requests it admits.
        with db.checking_keys() as conn:
            return account_store.authenticate(conn, key)

    principal = await run_in_threadpool(lookup)
    if principal is None:
        _refuse(request, "unknown or revoked API key")
    minute = now_us() // MINUTE_US * MINUTE_US
    if principal.last_used_us is None or principal.last_used_us < minute:
        await run_in_threadpool(_touch, db, principal, minute)
    request.state.principal = principal
    limiter: RateLimiter | SharedRateLimiter | None = request.app.state.key_limiter
    if limiter is not None:
        await limiter.acquire(principal.key_prefix)
    return principal


async def reader(request: Request) -> Principal:
    """Any live key: every GET."""
    return await authenticate(request)


async def writer(request: Request) -> Principal:
    """A ``write`` (or ``admin``) key: ingestion and deletion."""
    principal = await authenticate(request)
    if not principal.scope.covers(Scope.WRITE):
        raise Forbidden("this API key is read-only; this request needs a write key")
    return principal


async def administrator(request: Request) -> Principal:
    """An ``admin`` key: the account's keys, webhooks, settings, erasure and audit log."""
    principal = await authenticate(request)
    if not principal.scope.covers(Scope.ADMIN):
        raise Forbidden(
            f"this API key's scope is {principal.scope}; this request needs an admin key"
        )
    return principal
