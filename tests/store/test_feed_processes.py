"""The change feed's guarantee under real concurrency: writers in several processes.

Writers (events, imports, deletions) run in their own processes against one
database while a reader follows the feed. At the end the reader's copy equals
the database: no commit was skipped, even one that committed after a page
that it began before.
"""

from __future__ import annotations

import multiprocessing
import random
from typing import Any

import pytest

from sharelog.domain import EventIn, SessionIn, ViewerIn
from sharelog.geo import open_locator
from sharelog.ingest import Ingestor
from sharelog.removal import Remover
from sharelog.store.changes import read_changes
from sharelog.store.database import Database
from sharelog.store.details import session_details
from sharelog.store.schema import sessions
from sharelog.timestamps import format_timestamp_us
from tests.conftest import make_tenant

pytestmark = pytest.mark.slow

NOW = 1_800_000_000_000_000  # one fixed "now", so ongoing sessions compare equal
BASE = 1_793_000_000_000_000
IDS = 40
STEPS = 60


def write(url: str, account_id: int, seed: int) -> None:
    db = Database(url)
    ingestor = Ingestor(db, open_locator(""))
    remover = Remover(db)
    rng = random.Random(seed)
    for n in range(STEPS):
        sid = f"s-{rng.randrange(IDS)}"
        roll = rng.random()
        at = BASE + rng.randrange(10**9)
        if roll < 0.35:
            viewers = [ViewerIn(f"v{k}", at + k) for k in range(rng.randrange(3))]
            ingestor.import_sessions(
                account_id, [SessionIn(sid, f"a{seed}@x.io", at, at + 10**7, viewers=viewers)]
            )
        elif roll < 0.85:
            ingestor.ingest_events(
                account_id,
                [
                    EventIn(f"{seed}-{n}-s", "session.started", sid, at, agent="e@x.io"),
                    EventIn(f"{seed}-{n}-j", "viewer.joined", sid, at + 5, viewer_id=f"w{n}"),
                ],
            )
        else:
            remover.delete_session(account_id, sid)
    db.dispose()


def test_a_reader_following_the_feed_misses_no_commit(db: Database) -> None:
    tenant = make_tenant(db, "acme")
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=write, args=(db.url, tenant.account_id, seed)) for seed in range(3)
    ]
    for p in writers:
        p.start()
    copy: dict[str, dict[str, Any]] = {}
    since = 0
    pages = 0

    def catch_up() -> None:
        nonlocal since, pages
        while True:
            with db.reading() as conn:
                page = read_changes(conn, tenant.account_id, since, 7, NOW)
            for change in page.changes:
                if change["session"] is None:
                    copy.pop(change["id"], None)
                else:
                    copy[change["id"]] = change["session"]
            since = page.next_seq
            pages += 1
            if not page.has_more:
                return

    while any(p.is_alive() for p in writers):
        catch_up()
    for p in writers:
        p.join()
        assert p.exitcode == 0
    catch_up()
    with db.reading() as conn:
        ids = list(
            conn.execute(
                sessions.select()
                .with_only_columns(sessions.c.id)
                .where(sessions.c.account_id == tenant.account_id)
            ).scalars()
        )
        truth = session_details(conn, tenant.account_id, ids, NOW, format_timestamp_us)
    assert pages > 3  # the reader really ran alongside the writers
    assert truth, "the writers left sessions behind"
    assert copy == truth
