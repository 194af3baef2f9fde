"""Concurrent requests on one account: merges never lose an event, reads see one snapshot.

Each test runs on SQLite and on PostgreSQL. Threads call the ingestor directly,
as the server's worker threads do, so that the requests really overlap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from sharelog.domain import EventIn, Location, SessionIn
from sharelog.geo import Locator
from sharelog.ingest import Ingestor
from sharelog.store.database import Database
from sharelog.store.schema import sessions, viewers
from tests.conftest import Tenant

T0 = 1_793_606_400_000_000  # 2026-11-02T08:00:00Z in microseconds
SECOND = 1_000_000
CLIENTS = 12


def run_at_once(jobs: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(len(jobs)) as pool:
        return [f.result() for f in [pool.submit(job) for job in jobs]]


def test_concurrent_events_on_one_session_all_count(db: Database, tenant: Tenant) -> None:
    ingestor = Ingestor(db, Locator())
    account = tenant.account_id
    ingestor.ingest_events(account, [EventIn("first", "session.started", "s", T0, agent="z@x.co")])

    def client(i: int) -> Any:
        # Padding for other sessions widens the window between reading the
        # session and writing it back, where an unserialised merge loses.
        padding = [
            EventIn(f"p{i}-{n}", "share.started", f"pad-{i}-{n % 7}", T0, share_type="tab")
            for n in range(300)
        ]
        at = T0 - (i + 1) * SECOND
        mine = [
            EventIn(f"start-{i}", "session.started", "s", at, agent=f"a{i}@x.co"),
            EventIn(f"join-{i}", "viewer.joined", "s", at, viewer_id="v", location=Location("IS")),
        ]
        return lambda: ingestor.ingest_events(account, [*padding, *mine])

    results = run_at_once([client(i) for i in range(CLIENTS)])
    assert all(r.accepted == 302 for r in results)
    earliest = T0 - CLIENTS * SECOND
    with db.reading() as conn:
        row = conn.execute(
            select(sessions.c.start_us, sessions.c.agent).where(
                sessions.c.account_id == account, sessions.c.id == "s"
            )
        ).one()
        joined = conn.execute(
            select(viewers.c.joined_us).where(
                viewers.c.account_id == account, viewers.c.session_id == "s"
            )
        ).scalar_one()
    assert (row.start_us, row.agent) == (earliest, f"a{CLIENTS - 1}@x.co")
    assert joined == earliest


def test_concurrent_imports_of_one_new_session_all_succeed(db: Database, tenant: Tenant) -> None:
    ingestor = Ingestor(db, Locator())

    def client(i: int) -> Any:
        session = SessionIn(
            id="same", agent=f"a{i}@x.co", start_us=T0 + i * SECOND, end_us=None, shares=[]
        )
        return lambda: ingestor.import_sessions(tenant.account_id, [session])

    results = run_at_once([client(i) for i in range(CLIENTS)])
    assert sum(r.created for r in results) == 1
    assert sum(r.replaced for r in results) == CLIENTS - 1
    with db.reading() as conn:
        count = conn.execute(
            select(func.count()).where(sessions.c.account_id == tenant.account_id)
        ).scalar_one()
    assert count == 1


def test_a_read_sees_one_snapshot_while_sessions_are_added(db: Database, tenant: Tenant) -> None:
    ingestor = Ingestor(db, Locator())
    count = select(func.count()).where(sessions.c.account_id == tenant.account_id)
    new = SessionIn(id="later", agent="a@x.co", start_us=T0, end_us=None, shares=[])
    with db.reading() as conn:
        before = conn.execute(count).scalar_one()
        ingestor.import_sessions(tenant.account_id, [new])  # commits on another connection
        during = conn.execute(count).scalar_one()
    with db.reading() as conn:
        after = conn.execute(count).scalar_one()
    assert (before, during, after) == (0, 0, 1)
