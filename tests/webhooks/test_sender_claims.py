"""A sender's claims held ahead of its free slots: handed back when it stops, and
never started once they could run out mid-attempt."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import text

from sharelog.store import outbox
from sharelog.store.database import Database
from sharelog.timestamps import US_PER_SECOND, now_us
from sharelog.webhooks.messages import ping_row
from sharelog.webhooks.sender import HELD, Sender, SenderOptions
from tests.conftest import Tenant
from tests.webhooks.conftest import fake_resolver
from tests.webhooks.receiver import receiver
from tests.webhooks.test_outbox import endpoint

MESSAGES = 6


def queue(db: Database, tenant: Tenant, url: str) -> None:
    endpoint(db, tenant, "ep_claims", ("*",))
    with db.writing(tenant.account_id) as conn:
        conn.execute(text("UPDATE webhook_endpoints SET url = :u"), {"u": url})
        outbox.insert_messages(
            conn, [ping_row(tenant.account_id, "ep_claims", now_us()) for _ in range(MESSAGES)]
        )


def rows(db: Database) -> list[tuple[str, str | None, int | None]]:
    with db.reading() as conn:
        return [
            (r.status, r.claim, r.next_attempt_us)
            for r in conn.execute(
                text("SELECT status, claim, next_attempt_us FROM webhook_messages")
            )
        ]


def test_a_stopping_sender_hands_back_what_it_held_ready(db: Database, tenant: Tenant) -> None:
    with receiver() as r:
        queue(db, tenant, r.url + "/slow")
        sender = Sender(
            db,
            SenderOptions(
                allow_private=True, resolver=fake_resolver, per_endpoint=1, poll_seconds=0.05
            ),
        )

        async def claim_then_stop() -> int:
            stop = asyncio.Event()
            runner = asyncio.create_task(sender.run(stop))
            while not sender._ready:  # the first claim: one in flight, the rest ready
                await asyncio.sleep(0.001)
            held = len(sender._ready)
            stop.set()
            await runner
            return held

        held = asyncio.run(claim_then_stop())
    assert held == HELD - 1
    found = rows(db)
    delivered = [row for row in found if row[0] == "delivered"]
    waiting = [row for row in found if row[0] == "pending"]
    assert len(delivered) == len(r.requests) >= 1
    assert len(delivered) + len(waiting) == MESSAGES
    # Nothing is left claimed: what was ready is due again at once, for any sender.
    assert all(claim is None for _, claim, _ in found)
    assert all(due is not None and due <= now_us() for _, _, due in waiting)


def test_a_ready_message_whose_claim_could_run_out_mid_attempt_is_not_sent(
    db: Database, tenant: Tenant
) -> None:
    # Every look at the clock is 5 s later than the one before: by the time a
    # claimed message would start, its 20 s claim no longer covers a 15 s
    # attempt, and another sender could claim it while this one was sending.
    ticks = itertools.count()
    start = now_us()

    def clock() -> int:
        return start + next(ticks) * 5 * US_PER_SECOND

    with receiver() as r:
        queue(db, tenant, r.url + "/never")
        sender = Sender(
            db,
            SenderOptions(
                allow_private=True,
                resolver=fake_resolver,
                poll_seconds=0.05,
                lease_seconds=20,
                timeout_seconds=15,
                clock=clock,
            ),
        )
        asyncio.run(sender.run_until_idle(timeout=1.5))
    assert r.requests == []
    found = rows(db)
    assert len(found) == MESSAGES
    assert all(status == "pending" for status, _, _ in found)
