"""Managing an account's webhook endpoints: what the API and the CLI both do.

Every change writes its audit entry in its own transaction, under the
account's write lock (``store/audit.py`` numbers entries per account).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from typing import Any

from sharelog.errors import InvalidParameter, NotFound
from sharelog.store import audit, outbox
from sharelog.store import webhooks as endpoint_store
from sharelog.store.database import Database
from sharelog.store.webhooks import Endpoint
from sharelog.timestamps import US_PER_SECOND, format_timestamp, now_us
from sharelog.webhooks.addresses import AddressRefused, Resolver, check_url
from sharelog.webhooks.messages import MESSAGE_TYPES, ping_row

ALL = "*"
MAX_DESCRIPTION = 1000
# How long the previous secret keeps signing after a rotation.
ROTATION_OVERLAP_US = 24 * 3600 * US_PER_SECOND
PATCHABLE = ("url", "events", "description", "enabled")


_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _known_shape(endpoint_id: str) -> None:
    """An id no endpoint can have is a 404 before any query (PostgreSQL refuses a NUL)."""
    if _ID.fullmatch(endpoint_id) is None:
        raise NotFound(f"no webhook {endpoint_id[:40]!r} in this account")


def new_secret() -> str:
    """``whsec_`` and the base64 of 32 random bytes, as Standard Webhooks libraries read it."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_urlsafe(12)


def endpoint_json(endpoint: Endpoint, secret: str | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created": format_timestamp(endpoint.created_us),
    }
    if secret is not None:
        shown["secret"] = secret
    return shown


def parse_events(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise InvalidParameter("events", 'must be a non-empty list of message types, or ["*"]')
    for i, item in enumerate(value):
        if item != ALL and item not in MESSAGE_TYPES:
            raise InvalidParameter(
                f"events[{i}]",
                f"must be one of {', '.join(MESSAGE_TYPES)} or *, got {item!r}"[:300],
            )
    if ALL in value and len(value) > 1:
        raise InvalidParameter("events", '["*"] means every type and stands alone')
    return tuple(dict.fromkeys(value))


def parse_description(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION or "\x00" in value:
        raise InvalidParameter(
            "description", f"must be a string of at most {MAX_DESCRIPTION} characters"
        )
    return value


def checked_url(value: object, resolver: Resolver, allow_private: bool) -> str:
    try:
        return check_url(value, resolver, allow_private)
    except AddressRefused as exc:
        raise InvalidParameter("url", str(exc)) from None


def create(
    db: Database,
    account_id: int,
    actor: str,
    body: Mapping[str, Any],
    resolver: Resolver,
    allow_private: bool,
) -> dict[str, Any]:
    """Register an endpoint; the answer is the only time its secret is shown."""
    _only(body, ("url", "events", "description"))
    if "url" not in body:
        raise InvalidParameter("url", "is required")
    url = checked_url(body["url"], resolver, allow_private)
    if "events" not in body:
        raise InvalidParameter("events", "is required")
    events = parse_events(body["events"])
    description = parse_description(body.get("description"))
    secret = new_secret()
    now = now_us()
    with db.writing(account_id) as conn:
        endpoint = endpoint_store.insert_endpoint(
            conn,
            account_id,
            new_endpoint_id(),
            url=url,
            events=events,
            description=description,
            secret=secret,
            now_us=now,
        )
        audit.record(conn, account_id, actor, "webhook.created", endpoint.id, now)
    return endpoint_json(endpoint, secret)


def get(db: Database, account_id: int, endpoint_id: str) -> Endpoint:
    _known_shape(endpoint_id)
    with db.reading(primary=True) as conn:
        endpoint = endpoint_store.get_endpoint(conn, account_id, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook {endpoint_id!r} in this account")
    return endpoint


def listing(db: Database, account_id: int) -> list[Endpoint]:
    with db.reading(primary=True) as conn:
        return endpoint_store.account_endpoints(conn, account_id)


def update(
    db: Database,
    account_id: int,
    actor: str,
    endpoint_id: str,
    body: Mapping[str, Any],
    resolver: Resolver,
    allow_private: bool,
) -> Endpoint:
    _known_shape(endpoint_id)
    _only(body, PATCHABLE)
    values: dict[str, Any] = {}
    if "url" in body:
        values["url"] = checked_url(body["url"], resolver, allow_private)
    if "events" in body:
        values["events"] = parse_events(body["events"])
    if "description" in body:
        values["description"] = parse_description(body["description"])
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise InvalidParameter("enabled", "must be true or false")
        values["enabled"] = body["enabled"]
    now = now_us()
    with db.writing(account_id) as conn:
        if endpoint_store.get_endpoint(conn, account_id, endpoint_id) is None:
            raise NotFound(f"no webhook {endpoint_id!r} in this account")
        if values:
            if values.get("enabled") is False:
                values["disabled_reason"] = "disabled by an administrator"
            endpoint_store.update_endpoint(conn, account_id, endpoint_id, now, **values)
            audit.record(conn, account_id, actor, "webhook.updated", endpoint_id, now)
        found = endpoint_store.get_endpoint(conn, account_id, endpoint_id)
    assert found is not None
    return found


def delete(db: Database, account_id: int, actor: str, endpoint_id: str) -> None:
    _known_shape(endpoint_id)
    now = now_us()
    with db.writing(account_id) as conn:
        if not endpoint_store.delete_endpoint(conn, account_id, endpoint_id):
            raise NotFound(f"no webhook {endpoint_id!r} in this account")
        audit.record(conn, account_id, actor, "webhook.deleted", endpoint_id, now)


def rotate(db: Database, account_id: int, actor: str, endpoint_id: str) -> dict[str, Any]:
    """A new secret; the previous one keeps signing (beside it) for 24 hours."""
    _known_shape(endpoint_id)
    secret = new_secret()
    now = now_us()
    with db.writing(account_id) as conn:
        if endpoint_store.get_endpoint(conn, account_id, endpoint_id) is None:
            raise NotFound(f"no webhook {endpoint_id!r} in this account")
        endpoint_store.rotate_secret(
            conn, account_id, endpoint_id, secret, now + ROTATION_OVERLAP_US, now
        )
        audit.record(conn, account_id, actor, "webhook.secret_rotated", endpoint_id, now)
        found = endpoint_store.get_endpoint(conn, account_id, endpoint_id)
    assert found is not None
    return {
        **endpoint_json(found, secret),
        "previous_secret_expires": format_timestamp(now + ROTATION_OVERLAP_US),
    }


def send_test(db: Database, account_id: int, endpoint_id: str) -> str:
    """Queue a ``webhook.test`` message; its id."""
    _known_shape(endpoint_id)
    now = now_us()
    with db.writing(account_id) as conn:
        if endpoint_store.get_endpoint(conn, account_id, endpoint_id) is None:
            raise NotFound(f"no webhook {endpoint_id!r} in this account")
        row = ping_row(account_id, endpoint_id, now)
        outbox.insert_messages(conn, [row])
    return str(row["id"])


def replay(db: Database, account_id: int, endpoint_id: str, since_us: int) -> int:
    _known_shape(endpoint_id)
    now = now_us()
    with db.writing(account_id) as conn:
        if endpoint_store.get_endpoint(conn, account_id, endpoint_id) is None:
            raise NotFound(f"no webhook {endpoint_id!r} in this account")
        return outbox.requeue_since(conn, account_id, endpoint_id, since_us, now)


def _only(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in body:
        if name not in allowed:
            raise InvalidParameter(str(name)[:100], f"unknown field; allowed: {', '.join(allowed)}")
