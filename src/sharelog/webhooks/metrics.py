"""The webhook queue's figures for /metrics, read from the database at each scrape."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from sharelog.config import Settings
from sharelog.store import outbox
from sharelog.store.database import Database
from sharelog.timestamps import US_PER_SECOND, now_us
from sharelog.webhooks.addresses import Resolver, system_resolver
from sharelog.webhooks.sender import SenderOptions

log = logging.getLogger("sharelog.webhooks")


def queue_lines(db: Database) -> list[str]:
    try:
        with db.reading(primary=True) as conn:
            rows = outbox.queue_figures(conn)
    except SQLAlchemyError as exc:
        log.warning("webhook queue figures unavailable: %s", exc)
        return []
    now = now_us()
    depth = sum(int(r.pending) for r in rows)
    oldest = min((int(r.oldest_us) for r in rows), default=now)
    lines = [
        "# HELP sharelog_webhook_queue_depth Webhook messages pending delivery.",
        "# TYPE sharelog_webhook_queue_depth gauge",
        f"sharelog_webhook_queue_depth {depth}",
        "# HELP sharelog_webhook_oldest_pending_seconds Age of the oldest pending message.",
        "# TYPE sharelog_webhook_oldest_pending_seconds gauge",
        f"sharelog_webhook_oldest_pending_seconds {max(0, now - oldest) / US_PER_SECOND:.3f}",
        "# TYPE sharelog_webhook_endpoint_queue_depth gauge",
    ]
    for r in rows:
        lines.append(
            f'sharelog_webhook_endpoint_queue_depth{{account="{r.account_id}",'
            f'endpoint="{r.endpoint_id}"}} {int(r.pending)}'
        )
    return lines


def sender_options(settings: Settings, resolver: Resolver = system_resolver) -> SenderOptions:
    return SenderOptions(
        allow_private=settings.webhook_allow_private,
        concurrency=settings.webhook_concurrency,
        per_endpoint=settings.webhook_endpoint_concurrency,
        lease_seconds=float(settings.webhook_lease_seconds),
        resolver=resolver,
    )
