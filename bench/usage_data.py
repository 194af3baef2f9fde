"""A year of a 500-agent company: generated sessions, loaded through the store's import path."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import islice

from rich.progress import Progress
from sqlalchemy import text

from sharelog.domain import Location, SessionIn, ShareIn, ViewerIn
from sharelog.store import sessions as session_store
from sharelog.store.database import Database
from sharelog.timestamps import US_PER_SECOND

YEAR_END_US = 1_795_996_800 * US_PER_SECOND  # 2026-12-01T00:00:00Z
DAY_US = 86_400 * US_PER_SECOND
COUNTRIES = ("US", "GB", "DE", "IS", "FR", "CA", "IN", "BR", "AU", "JP", None)
TABS = (("Pricing", "https://example.com/pricing"), ("Demo", "https://example.com/demo"))


def generate(
    count: int, *, year_total: int, days: int = 365, agents: int = 500, seed: int = 1
) -> Iterator[SessionIn]:
    """The newest ``count`` of ``year_total`` sessions spread evenly over ``days``, oldest first.

    A session depends only on its rank from the newest, so the newest 100k of a
    1M year are the same whether 100k or 1M are generated.
    """
    step = days * DAY_US // year_total
    for rank in range(count, 0, -1):
        rng = random.Random(seed * 1_000_003 + rank)
        start = YEAR_END_US - rank * step
        length = rng.randint(300, 3600) * US_PER_SECOND
        shares = [ShareIn(start + 3 * US_PER_SECOND, "screen", "Entire screen")]
        if rng.random() < 0.5:
            title, url = rng.choice(TABS)
            shares.append(ShareIn(start + length // 3, "tab", title, url))
        viewers = [
            ViewerIn(
                f"v-{v}",
                start + (v + 1) * 10 * US_PER_SECOND,
                start + length - v * US_PER_SECOND,
                location=Location(country=rng.choice(COUNTRIES)),
            )
            for v in range(rng.choice((0, 1, 2, 3)))
        ]
        yield SessionIn(
            id=f"s-{rank:08d}",
            agent=f"agent{rng.randrange(agents):03d}@example.com",
            start_us=start,
            end_us=start + length,
            shares=shares,
            viewers=viewers,
        )


def load(
    db: Database, account_id: int, count: int, year_total: int, *, batch: int = 10_000
) -> None:
    """Import the newest ``count`` sessions of a ``year_total`` year, then ANALYZE."""
    sessions = generate(count, year_total=year_total)
    loaded = 0
    with Progress(transient=True) as progress:
        task = progress.add_task(f"loading {count:,} sessions ({db.backend})", total=count)
        while chunk := list(islice(sessions, batch)):
            with db.writing(account_id) as conn:
                session_store.import_sessions(conn, account_id, chunk, 0)
            progress.advance(task, len(chunk))
            loaded += len(chunk)
            if loaded in (batch, 5 * batch, 25 * batch):
                # A freshly bulk-loaded PostgreSQL table has no statistics until
                # autovacuum gets to it, and the planner then scans all of an
                # account's sessions for each id lookup; a running service gets
                # there by itself, a 1-minute load does not.
                analyze(db)
    analyze(db)


def analyze(db: Database) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
