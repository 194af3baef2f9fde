"""A sender's attempts: written back, with what they tell of their endpoints, and
reported (metrics, one structured log line each)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Connection

from sharelog.store import outbox
from sharelog.store.outbox import Outcome
from sharelog.store.webhooks import Endpoint
from sharelog.timestamps import format_timestamp

if TYPE_CHECKING:  # the API imports the sender: no import cycle at run time
    from sharelog.api.metrics import Metrics

log = logging.getLogger("sharelog.webhooks")


def write_outcomes(
    conn: Connection, token: str, batch: Sequence[Outcome], now_us: int, disable_after_us: int
) -> None:
    """Record the attempts under the sender's claims; note each endpoint's delivery or
    failure (disabling it after ``disable_after_us`` of failures, or on 410 Gone)."""
    if not batch:
        return
    delivered: set[tuple[int, str]] = set()
    failing: set[tuple[int, str]] = set()
    gone: set[tuple[int, str]] = set()
    for o in batch:
        key = (o.message.account_id, o.message.endpoint_id)
        if o.status == outbox.DELIVERED:
            delivered.add(key)
        else:
            failing.add(key)
            if o.status_code == 410:
                gone.add(key)
    outbox.record_outcomes(conn, token, batch)
    for account_id, endpoint_id in sorted(delivered):
        outbox.note_delivery(conn, account_id, endpoint_id, now_us)
    for account_id, endpoint_id in sorted(failing - delivered):
        outbox.note_failure(conn, account_id, endpoint_id, now_us, disable_after_us)
    for account_id, endpoint_id in sorted(gone):
        outbox.disable(conn, account_id, endpoint_id, "the endpoint answered 410 Gone", now_us)


def observe_attempt(
    metrics: Metrics | None, endpoint: Endpoint, outcome: Outcome, attempt: int, seconds: float
) -> None:
    """Count the attempt by result (and a failure per endpoint); log one line for it."""
    result = (
        "delivered"
        if outcome.status == outbox.DELIVERED
        else ("failed" if outcome.status == outbox.FAILED else "retry")
    )
    if metrics is not None:
        metrics.count_labelled("webhook_deliveries_total", result=result)
        if result != "delivered":
            metrics.count_labelled(
                "webhook_endpoint_failures_total",
                account=str(endpoint.account_id),
                endpoint=endpoint.id,
            )
    if log.isEnabledFor(logging.INFO):
        next_us = outcome.next_attempt_us
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "event": "webhook.attempt",
            "account_id": endpoint.account_id,
            "endpoint_id": endpoint.id,
            "message_id": outcome.message.id,
            "type": outcome.message.type,
            "attempt": attempt,
            "result": result,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "next_attempt": None if next_us is None else format_timestamp(next_us),
            "duration_ms": round(seconds * 1000, 2),
        }
        log.info(orjson.dumps(line).decode())
