"""Reading JSON request bodies, and the size limit every body is held to."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharelog.api.errors import error_response
from sharelog.errors import InvalidParameter, PayloadTooLarge

T = TypeVar("T")

# Seven digits or more after a point: finer than a microsecond, where a float can
# round across one. (Also inside strings, where it only costs the slower read.)
_FINER_THAN_MICROSECONDS = re.compile(rb"\.\d{7}")


# Bodies larger than this are decoded and validated on the thread pool: a 10 MiB
# import takes ~100 ms of CPU, which on the event loop stalled every stream and
# /healthz of the worker. Smaller ones are cheaper inline than a thread hop.
INLINE_PARSE_BYTES = 64 * 1024


async def read_body(request: Request, parse: Callable[[Any], T]) -> T:
    """The body decoded as JSON and handed to ``parse``, off the event loop when large."""
    raw = await request.body()
    if len(raw) <= INLINE_PARSE_BYTES:
        return parse(decode_json(raw))
    return await run_in_threadpool(lambda: parse(decode_json(raw)))


async def read_json(request: Request, *, required: bool = True) -> Any:
    """The body as JSON; None for an empty body when not ``required``."""
    return decode_json(await request.body(), required=required)


def decode_json(raw: bytes, *, required: bool = True) -> Any:
    """Bytes as JSON, fractions finer than microseconds read exactly."""
    if not raw.strip():
        if required:
            raise InvalidParameter("body", "a JSON body is required")
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameter("body", f"not valid JSON: {exc}") from None
    if _FINER_THAN_MICROSECONDS.search(raw):
        # orjson reads a fraction as a binary float, whose 16 significant digits
        # turn the Unix time 1761987600.9999999 into 1761987601.0, where the
        # contract truncates to .999999. Such a body (rare: the search costs
        # 0.04 ms on a 1,000-event batch) is read again with exact decimals.
        try:
            value = json.loads(raw, parse_float=Decimal)
        except RecursionError:
            raise InvalidParameter("body", "nested too deeply") from None
    return value


class BodyLimit:
    """413 for a body over ``max_bytes``: at once from Content-Length, else once that much
    is read. A body that has not all arrived ``timeout_seconds`` after the first read is
    a 400: a client sending a byte a minute must not hold a request open for ever."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_seconds: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_bytes
                except ValueError:
                    too_large = False
                if too_large:
                    response = error_response(
                        PayloadTooLarge(f"request body larger than {self.max_bytes} bytes"),
                        {"Connection": "close"},
                    )
                    await response(scope, receive, send)
                    return
        seen = 0
        deadline: float | None = None
        body_done = False

        async def limited_receive() -> Message:
            nonlocal seen, deadline, body_done
            if body_done:
                # After the body, receive() only waits for a disconnect, for as
                # long as a streamed response lasts: no deadline applies.
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.timeout_seconds
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise InvalidParameter(
                    "body", f"the request body did not arrive within {self.timeout_seconds:g} s"
                ) from None
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(f"request body larger than {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)
