"""Building requests and reading answers: parameters, paths, and JSON held to this API."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from sharelog.client._exceptions import ClientError, ProtocolError

T = TypeVar("T")

Moment = datetime | str | int | float | None


def moment(value: Moment) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    return str(value)


def usage_params(
    from_: Moment = None,
    to: Moment = None,
    agents: Sequence[str] | None = None,
    **extra: Any,
) -> list[tuple[str, str]]:
    params = [(k, v) for k, v in (("from", moment(from_)), ("to", moment(to))) if v is not None]
    params += [("agent", a) for a in agents or ()]
    params += [(k, str(v)) for k, v in extra.items() if v is not None]
    return params


def client_settings(base_url: str | None, key: str | None) -> tuple[str, str]:
    base_url = base_url or os.environ.get("SHARELOG_URL")
    key = key or os.environ.get("SHARELOG_KEY")
    if not base_url or not key:
        raise ClientError(
            "a server URL and an API key are needed (or SHARELOG_URL and SHARELOG_KEY)"
        )
    try:
        parsed = httpx.URL(base_url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise ClientError(f"not an http:// or https:// URL: {base_url!r}")
    return base_url.rstrip("/"), key


def session_path(session_id: str) -> str:
    """The path of one session. "." and ".." are valid ids, and httpx would
    resolve them as path segments: their dots go percent-encoded."""
    quoted = quote(session_id, safe="")
    if session_id in (".", ".."):
        quoted = "%2E" * len(session_id)
    return f"/ss/api/sessions/{quoted}"


def read_json(response: httpx.Response, build: Callable[[Any], T] = lambda data: data) -> T:
    """``build`` applied to the answer's JSON; ProtocolError when it is not what this API sends."""
    what = f"{response.request.method} {response.request.url.path}"
    try:
        data = response.json()
    except ValueError:
        raise ProtocolError(f"{what}: the answer is not JSON") from None
    return read_json_value(data, build, what)


def read_json_value(value: Any, build: Callable[[Any], T], what: str) -> T:
    """``build(value)`` for JSON already read; ProtocolError when it is malformed."""
    try:
        return build(value)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"{what}: not the document this API sends ({exc!r})") from None
