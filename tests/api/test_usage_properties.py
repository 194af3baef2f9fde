"""Properties over generated histories: the figures always agree with the sessions listed."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, make_tenant

_accounts = itertools.count()
BASE_US = 1_793_491_200_000_000  # 2026-11-01T00:00:00Z
COUNTRIES = st.sampled_from([None, "IS", "US", "DE"])


def epoch(us: int) -> str:
    """Exact decimal Unix seconds (a float would round the microseconds)."""
    seconds, micros = divmod(us, 1_000_000)
    return f"{seconds}.{micros:06d}"


def session_strategy(index: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda agent, start, length, viewers: {
            "id": f"s{index}",
            "offset_us": start,  # not a contract field: the server ignores it
            "agent": agent,
            "start": epoch(BASE_US + start),
            "end": epoch(BASE_US + start + length),
            "viewers": [
                {
                    "id": f"v{n}",
                    "joined": f"{(BASE_US + start) / 1e6:.6f}",
                    "location": {"country": c},
                }
                for n, c in enumerate(viewers)
            ],
        },
        st.sampled_from(["a@example.com", "B@example.com", "c@example.com"]),
        st.integers(min_value=-86_400_000_000, max_value=10 * 86_400_000_000),
        st.integers(min_value=0, max_value=7_200_000_000),
        st.lists(COUNTRIES, max_size=5),
    )


histories = st.integers(min_value=0, max_value=15).flatmap(
    lambda n: st.tuples(*(session_strategy(i) for i in range(n)))
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sessions=histories)
def test_per_agent_figures_add_up_and_equal_the_sessions_listed(
    client: TestClient, db: Database, sessions: tuple[dict[str, Any], ...]
) -> None:
    api = Api(client, make_tenant(db, f"prop-{next(_accounts)}"))
    if sessions:
        api.import_sessions(*sessions)
    document = api.usage(**{"from": "2026-11-01", "to": "2026-11-08"})
    stats, listed = document["stats"], document["sessions"]

    by_agent: dict[str, list[int]] = defaultdict(list)
    for s in listed:
        assert s["duration"] >= 0
        by_agent[s["agent"]].append(s["duration"])
        groups = s["viewers"]["locations"]
        assert sum(g["count"] for g in groups) == s["viewers"]["count"]
        keys = [
            (-g["count"], *((g[k] is None, g[k] or "") for k in ("country", "region", "city")))
            for g in groups
        ]
        assert keys == sorted(keys)
    assert stats["per_agent"] == {
        agent: {"meetings": len(d), "seconds": sum(d)} for agent, d in by_agent.items()
    }
    assert stats["total"] == {
        "meetings": sum(f["meetings"] for f in stats["per_agent"].values()),
        "seconds": sum(f["seconds"] for f in stats["per_agent"].values()),
    }
    # Ordered by the exact start instant (kept to the microsecond), then id.
    offsets = {s["id"]: s["offset_us"] for s in sessions}
    order = [(offsets[s["id"]], s["id"]) for s in listed]
    assert order == sorted(order)
    durations = {s["id"]: s["duration"] for s in listed}
    for s in sessions:
        if s["id"] in durations:
            end_us = int(s["end"].replace(".", "")) - int(s["start"].replace(".", ""))
            assert durations[s["id"]] == end_us // 1_000_000
    expected = {s["id"] for s in sessions if 0 <= s["offset_us"] < 7 * 86_400_000_000}
    assert {s["id"] for s in listed} == expected, (sessions, listed)
