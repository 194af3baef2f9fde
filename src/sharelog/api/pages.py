"""Opaque cursors of the administration lists (audit log, delivery log).

Like usage's cursors, checked rather than secret: the tag proves the server
wrote the cursor, for this list, and its fields are checked before they reach
a query.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from sharelog.api.params import int_param, single
from sharelog.errors import InvalidParameter

_TAG_KEY = b"sharelog admin cursor v1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def encode_cursor(kind: str, position: list[Any]) -> str:
    payload = orjson.dumps([kind, *position])
    tag = hmac.new(_TAG_KEY, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(tag + payload).decode("ascii").rstrip("=")


def decode_cursor(kind: str, text: str, types: tuple[type, ...]) -> list[Any]:
    """The position in a cursor of this ``kind``, each value of the given type; else a 400."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        tag, payload = raw[:12], raw[12:]
        if not hmac.compare_digest(tag, hmac.new(_TAG_KEY, payload, hashlib.sha256).digest()[:12]):
            raise ValueError("bad tag")
        found = orjson.loads(payload)
        if type(found) is not list or found[:1] != [kind] or len(found) != len(types) + 1:
            raise ValueError("not this list's cursor")
        position = found[1:]
        if not all(type(v) is t for v, t in zip(position, types, strict=True)):
            raise ValueError("malformed")
        return position
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidParameter("cursor", "not a cursor this server made for this list") from None


def limit_param(params: QueryParams) -> int:
    given = single(params, "limit")
    return DEFAULT_LIMIT if given is None else int_param("limit", given, 1, MAX_LIMIT)


def object_body(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidParameter("body", "must be a JSON object")
    return value
