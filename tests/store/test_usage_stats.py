"""Usage stats kept between requests (StatsCache): never older than the sessions they count."""

from __future__ import annotations

from typing import Any

from sharelog.domain import UsageQuery
from sharelog.store.database import Database
from sharelog.store.usage_stats import StatsCache, usage_stats
from sharelog.timestamps import parse_timestamp
from tests.api.documents import WINDOW, fill
from tests.conftest import Api, make_tenant, session_body

NOW = parse_timestamp("2026-11-20T00:00:00Z")


def query(now_us: int = NOW, **changes: Any) -> UsageQuery:
    window = {
        "from_us": parse_timestamp(WINDOW["from"]),
        "to_us": parse_timestamp(WINDOW["to"]),
        "now_us": now_us,
    }
    return UsageQuery(**{**window, **changes})


def stats_of(db: Database, cache: StatsCache, account_id: int, q: UsageQuery) -> dict[str, Any]:
    with db.reading() as conn:
        kept = cache.stats(conn, account_id, q).as_json()
        assert kept == usage_stats(conn, account_id, q).as_json()
    return kept


def test_kept_stats_count_every_session_written_since(api: Api, db: Database) -> None:
    cache, account = StatsCache(), api.tenant.account_id
    fill(api, 5)
    before = stats_of(db, cache, account, query())["total"]
    assert before["meetings"] == 5
    api.import_sessions(session_body("late", end="2026-11-02T10:30:00Z"))  # 30 minutes
    assert stats_of(db, cache, account, query())["total"] == {
        "meetings": 6,
        "seconds": before["seconds"] + 1800,
    }
    # A replaced session: same count, other seconds.
    api.import_sessions(
        session_body("late", start="2026-11-02T10:00:00Z", end="2026-11-02T10:00:10Z")
    )
    assert stats_of(db, cache, account, query())["total"]["seconds"] == before["seconds"] + 10
    assert (
        api.client.delete(
            "/ss/api/sessions/late", headers={"Authorization": f"Basic {api.tenant.write_key}"}
        ).status_code
        == 204
    )
    assert stats_of(db, cache, account, query())["total"]["meetings"] == 5
    events = [
        {
            "id": "e-1",
            "type": "session.started",
            "session": "ev",
            "at": "2026-11-04T10:00:00Z",
            "agent": "eve@example.com",
        },
        {"id": "e-2", "type": "session.ended", "session": "ev", "at": "2026-11-04T10:00:30Z"},
    ]
    assert api.post("/ss/api/events", json={"events": events}).status_code == 200
    assert stats_of(db, cache, account, query())["per_agent"]["eve@example.com"] == {
        "meetings": 1,
        "seconds": 30,
    }


def test_a_window_with_a_session_going_on_is_counted_to_each_requests_now(
    api: Api, db: Database
) -> None:
    cache, account = StatsCache(), api.tenant.account_id
    api.import_sessions(session_body("on", start="2026-11-02T10:00:00Z", end=None))
    first = stats_of(db, cache, account, query(NOW))
    later = stats_of(db, cache, account, query(NOW + 60_000_000))
    assert later["total"]["seconds"] == first["total"]["seconds"] + 60


def test_kept_stats_belong_to_their_account_window_and_agents(api: Api, db: Database) -> None:
    cache, account = StatsCache(), api.tenant.account_id
    fill(api, 6)  # agents agent0, agent1, agent2: two sessions each
    other = make_tenant(db, "globex").account_id
    assert stats_of(db, cache, account, query())["total"]["meetings"] == 6
    assert stats_of(db, cache, other, query())["total"]["meetings"] == 0
    only = query(agents=("agent1@example.com",))
    assert list(stats_of(db, cache, account, only)["per_agent"]) == ["agent1@example.com"]
    assert stats_of(db, cache, account, only)["total"]["meetings"] == 2
    narrow = query(to_us=parse_timestamp("2026-11-02T10:01:00Z"))
    assert stats_of(db, cache, account, narrow)["total"]["meetings"] == 4


def test_kept_stats_hold_a_bounded_number_of_agents(api: Api, db: Database) -> None:
    cache, account = StatsCache(max_agents=4), api.tenant.account_id
    fill(api, 6)  # three agents in every window below
    for second in range(6):
        from_us = parse_timestamp(f"2026-11-01T00:00:0{second}Z")
        assert stats_of(db, cache, account, query(from_us=from_us))["total"]["meetings"] == 6
        assert cache._held <= 4
