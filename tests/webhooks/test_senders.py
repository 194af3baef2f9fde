"""Three `sharelog deliver` processes share one PostgreSQL outbox: every message is
delivered, and no attempt is made twice (counted at the receiver)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sharelog.store import outbox
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from sharelog.webhooks.messages import ping_row
from tests.conftest import _truncate_all, make_tenant
from tests.webhooks.test_outbox import endpoint

# 10,000 for the figure in docs/performance.md: SHARELOG_TEST_WEBHOOK_MESSAGES=10000.
MESSAGES = int(os.environ.get("SHARELOG_TEST_WEBHOOK_MESSAGES", "300"))


def start_senders(url: str, count: int, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true", "SHARELOG_LOG_LEVEL": "warning"}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "sharelog", "deliver", "--database-url", url],
            env=env,
            stdout=(log_dir / f"sender-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i in range(count)
    ]


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


SECRET = "whsec_" + "A" * 43 + "="


@pytest.mark.slow
def test_three_senders_deliver_everything_once(postgres_url: str, tmp_path: Path) -> None:
    db = Database(postgres_url)
    _truncate_all(db)
    tenant = make_tenant(db, "acme")
    # In a process of its own, verifying every request with standardwebhooks.
    receiver = subprocess.Popen(
        [sys.executable, "-m", "tests.webhooks.fast_receiver", SECRET], stdout=subprocess.PIPE
    )
    assert receiver.stdout is not None
    port = int(receiver.stdout.readline())
    endpoint(db, tenant, "ep_many", ("*",))
    with db.writing(tenant.account_id) as conn:
        conn.execute(
            text("UPDATE webhook_endpoints SET url = :u WHERE id = 'ep_many'"),
            {"u": f"http://127.0.0.1:{port}/many"},
        )
        now = now_us()
        outbox.insert_messages(
            conn, [ping_row(tenant.account_id, "ep_many", now) for _ in range(MESSAGES)]
        )
    started = time.monotonic()
    senders = start_senders(postgres_url, 3, tmp_path)
    engine = create_engine(postgres_url)
    try:
        deadline = started + 50
        left = MESSAGES
        while left and time.monotonic() < deadline:
            if all(p.poll() is not None for p in senders):
                break  # every sender died: the logs below say why
            time.sleep(0.25)
            with engine.connect() as conn:
                left = conn.execute(
                    text("SELECT count(*) FROM webhook_messages WHERE status <> 'delivered'")
                ).scalar_one()
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # a second attempt, were one to be made, would show by now
    finally:
        stop(senders)
        receiver.send_signal(signal.SIGTERM)
        summary = json.loads(receiver.stdout.readline())
        receiver.wait(timeout=10)
        engine.dispose()
        db.dispose()
    logs = "".join((tmp_path / f"sender-{i}.log").read_text() for i in range(3))
    assert left == 0, logs[-2000:]
    assert summary == {
        "received": MESSAGES,
        "distinct": MESSAGES,
        "max_per_id": 1,
        "unverified": 0,
        "ended": [],
    }, logs[-2000:]
    print(f"\n{MESSAGES} messages by 3 senders in {elapsed:.1f} s: {MESSAGES / elapsed:.0f}/s")
