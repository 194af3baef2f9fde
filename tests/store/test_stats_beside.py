"""A page's stats read beside it on a second snapshot (SQLite) are the stats of the
page's snapshot, or none at all: the helper declines a snapshot that shows the
account at another position, and a busy helper is not waited for."""

from __future__ import annotations

from typing import Any

import pytest

from sharelog.domain import UsageQuery
from sharelog.store import stats_beside as beside_module
from sharelog.store.database import Database
from sharelog.store.positions import current_position
from sharelog.store.stats_beside import stats_beside
from sharelog.store.usage_stats import StatsCache, usage_stats
from sharelog.timestamps import parse_timestamp
from tests.conftest import Api, session_body

# The helper is SQLite's (on PostgreSQL stats_beside answers None, tested below).
ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
QUERY = UsageQuery(
    from_us=parse_timestamp("2026-11-01T00:00:00Z"),
    to_us=parse_timestamp("2026-11-03T00:00:00Z"),
    now_us=parse_timestamp("2026-11-04T00:00:00Z"),
)


def _sessions(*minutes: int) -> list[dict[str, Any]]:
    return [
        session_body(
            f"s-{m:02d}",
            f"agent{m % 3}@x.io",
            f"2026-11-02T10:{m:02d}:00Z",
            f"2026-11-02T11:{m:02d}:00Z",
        )
        for m in minutes
    ]


def test_the_helper_reads_the_stats_of_the_position_it_is_given(api: Api, db: Database) -> None:
    api.import_sessions(*_sessions(1, 2, 3, 4))
    account, cache = api.tenant.account_id, StatsCache()
    with db.reading() as conn:
        version, expected = current_position(conn, account), usage_stats(conn, account, QUERY)
    future = stats_beside(db, account, QUERY, cache, version)
    if not db.is_sqlite:
        assert future is None
        return
    assert future is not None
    assert future.result() == expected
    # Kept for the position it was read at, as the page's own read would have.
    with db.reading() as conn:
        assert cache.lookup(conn, account, QUERY) == (version, expected)


@ON_SQLITE
def test_a_write_between_the_two_snapshots_makes_the_helper_decline(api: Api, db: Database) -> None:
    api.import_sessions(*_sessions(1, 2))
    account, cache = api.tenant.account_id, StatsCache()
    with db.reading() as conn:
        version = current_position(conn, account)
        before = usage_stats(conn, account, QUERY)
        api.import_sessions(*_sessions(5))
        future = stats_beside(db, account, QUERY, cache, version)
        assert future is not None
        assert future.result() is None
        # The page's snapshot still shows the two sessions: its own stats are those.
        assert cache.stats(conn, account, QUERY) == before
    assert before.total.meetings == 2
    with db.reading() as conn:
        assert usage_stats(conn, account, QUERY).total.meetings == 3


@ON_SQLITE
def test_a_busy_helper_is_not_waited_for(api: Api, db: Database) -> None:
    api.import_sessions(*_sessions(1))
    account = api.tenant.account_id
    with db.reading() as conn:
        version = current_position(conn, account)
    assert beside_module._SLOT.acquire(blocking=False)
    try:
        assert stats_beside(db, account, QUERY, StatsCache(), version) is None
    finally:
        beside_module._SLOT.release()
    future = stats_beside(db, account, QUERY, StatsCache(), version)
    assert future is not None and future.result() is not None


def test_a_page_carries_its_window_stats_whether_read_beside_or_not(
    api: Api, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.import_sessions(*_sessions(1, 2, 3, 4, 5, 6, 7))
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
    document = api.usage(**window)
    helped: list[object] = []

    def counted(*args: Any) -> Any:
        future = stats_beside(*args)
        helped.append(future)
        return future

    monkeypatch.setattr(beside_module, "stats_beside", counted)
    # Another `to` (the same sessions): stats no request has read yet.
    first = api.usage(**{**window, "to": "2026-11-03T00:00:01Z"}, limit=3)
    assert len(helped) == 1 and (helped[0] is not None) == db.is_sqlite
    assert first["stats"] == document["stats"]
    assert first["stats"]["total"]["meetings"] == 7
    # The helper taken: the page reads its stats itself, the same ones.
    monkeypatch.setattr(beside_module, "_SLOT", _Taken())
    again = api.usage(**{**window, "to": "2026-11-03T00:00:02Z"}, limit=3)
    assert again["stats"] == document["stats"]
    assert [s["id"] for s in again["sessions"]] == [s["id"] for s in first["sessions"]]


class _Taken:
    def acquire(self, blocking: bool = True) -> bool:
        return False

    def release(self) -> None:
        raise AssertionError("never acquired")
