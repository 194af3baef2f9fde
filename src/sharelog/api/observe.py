"""Every request timed, counted in /metrics and logged as one JSON line.

The access line carries the account id and the key's display prefix, never a
whole key; and no client address at all (viewer and client IPs are personal data).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharelog.api.metrics import Metrics
from sharelog.domain import Principal

access_log = logging.getLogger("sharelog.access")


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            # The route template, not the raw path: bounded label values.
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(access_line(scope, route, status, seconds))


def access_line(scope: Scope, route: str, status: int, seconds: float) -> str:
    principal = scope.get("state", {}).get("principal")
    line: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "account_id": principal.account_id if isinstance(principal, Principal) else None,
        "key_prefix": principal.key_prefix if isinstance(principal, Principal) else None,
    }
    return orjson.dumps(line).decode()


def configure_access_log(level: str = "info") -> None:
    """Send the access lines to stderr, one JSON object per line (``sharelog serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    # The webhook sender's line per attempt goes the same way.
    for logger in (access_log, logging.getLogger("sharelog.webhooks")):
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
