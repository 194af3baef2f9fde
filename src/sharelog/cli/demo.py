"""``sharelog demo``: a ``demo`` account full of realistic sessions, and a read key."""

from __future__ import annotations

from itertools import islice

from rich.progress import Progress
from sqlalchemy import func, select

from sharelog import demo as demo_data
from sharelog.domain import Scope
from sharelog.geo import Locator
from sharelog.ingest import Ingestor
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.store.schema import sessions
from sharelog.timestamps import now_us

DEMO_ACCOUNT = "demo"
BATCH = 1000


def demo_session_count(db: Database) -> int:
    with db.reading() as conn:
        try:
            account = account_store.find_account(conn, DEMO_ACCOUNT)
        except account_store.AccountNotFound:
            return 0
        return int(
            conn.execute(
                select(func.count())
                .select_from(sessions)
                .where(sessions.c.account_id == account.id)
            ).scalar_one()
        )


def fill_demo(
    db: Database, count: int, *, retention_days: int | None = None, show_progress: bool = True
) -> str:
    """Create (or refill) the demo account with ``count`` sessions; return a new read key.
    A new demo account gets ``retention_days``, as every new account gets the
    deployment's default (``SHARELOG_RETENTION_DAYS``)."""
    with db.writing() as conn:
        try:
            account = account_store.find_account(conn, DEMO_ACCOUNT)
        except account_store.AccountNotFound:
            account = account_store.create_account(
                conn, DEMO_ACCOUNT, now_us(), retention_days=retention_days
            )
    ingestor = Ingestor(db, Locator())
    generated = demo_data.generate(count, end_us=now_us())
    with Progress(transient=True, disable=not show_progress) as progress:
        task = progress.add_task("generating demo sessions", total=count)
        while batch := list(islice(generated, BATCH)):
            ingestor.import_sessions(account.id, batch)
            progress.advance(task, len(batch))
    return read_key(db)


def read_key(db: Database) -> str:
    with db.writing() as conn:
        account = account_store.find_account(conn, DEMO_ACCOUNT)
        return account_store.create_key(conn, account.id, Scope.READ, now_us())
