"""Properties of the usage document over generated histories.

Each example imports into a fresh account of the test's database (SQLite and
PostgreSQL alike): accounts never see each other, so no cleanup is needed
between examples, and the examples stay fast (one POST, a few GETs).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp, parse_timestamp
from tests.conftest import Api, make_tenant

US = 1_000_000
FROM, TO = "2026-11-01", "2026-11-08"
FROM_US, TO_US = parse_timestamp(FROM), parse_timestamp(TO)
PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_accounts = itertools.count()

# Few distinct starts and ids that differ in case, so ties and code-point order happen.
starts = st.one_of(
    st.sampled_from([FROM_US - 1, FROM_US, FROM_US + 1, TO_US - 1, TO_US, FROM_US + 86_400 * US]),
    st.integers(min_value=FROM_US - 86_400 * US, max_value=TO_US + 86_400 * US),
)
lengths = st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 3600 * US))
places = st.tuples(
    st.sampled_from([None, "IS", "is", "US", "DE"]),
    st.sampled_from([None, "Capital Region", "capital region", "Zeta", "Ölfus"]),
    st.sampled_from([None, "Reykjavik", "Kópavogur", "reykjavik"]),
)


def exact(us: int) -> str:
    """Unix seconds as exact decimal text (a float would round the microseconds)."""
    seconds, micros = divmod(us, US)
    return f"{seconds}.{micros:06d}"


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(
        st.lists(st.sampled_from(["a", "A", "b", "B", "_", "0", "a.1", "a-1", "Z:9"]), unique=True)
    )
    sessions = []
    for sid in ids:
        start = draw(starts)
        length = draw(lengths)
        viewers = draw(st.lists(places, max_size=6))
        sessions.append(
            {
                "id": sid,
                "agent": draw(
                    st.sampled_from(["alice@example.com", "ALICE@example.com", "bob@x.io"])
                ),
                "start": exact(start),
                "end": None if length is None else exact(start + length),
                "viewers": [
                    {
                        "id": f"v{n}",
                        "joined": exact(start),
                        "location": {"country": c, "region": r, "city": city},
                    }
                    for n, (c, r, city) in enumerate(viewers)
                ],
            }
        )
    return sessions


def fresh_api(client: TestClient, db: Database) -> Api:
    return Api(client, make_tenant(db, f"property-{next(_accounts)}"))


def usage_of(client: TestClient, db: Database, history: list[dict[str, Any]]) -> dict[str, Any]:
    api = fresh_api(client, db)
    if history:
        api.import_sessions(*history)
    return api.usage(**{"from": FROM, "to": TO})


@PROPERTY
@given(history=histories())
def test_per_agent_figures_add_up_to_the_total_and_equal_the_sessions_listed(
    client: TestClient, db: Database, history: list[dict[str, Any]]
) -> None:
    document = usage_of(client, db, history)
    stats, listed = document["stats"], document["sessions"]
    by_agent: dict[str, list[int]] = defaultdict(list)
    for session in listed:
        by_agent[session["agent"]].append(session["duration"])
    assert stats["per_agent"] == {
        agent: {"meetings": len(durations), "seconds": sum(durations)}
        for agent, durations in by_agent.items()
    }
    assert stats["total"] == {
        "meetings": sum(f["meetings"] for f in stats["per_agent"].values()),
        "seconds": sum(f["seconds"] for f in stats["per_agent"].values()),
    }
    assert all(agent == agent.lower() for agent in stats["per_agent"])


@PROPERTY
@given(history=histories())
def test_the_window_holds_exactly_the_sessions_that_start_in_it_ordered_by_start_then_id(
    client: TestClient, db: Database, history: list[dict[str, Any]]
) -> None:
    listed = usage_of(client, db, history)["sessions"]
    expected = sorted(
        (parse_timestamp(s["start"]), s["id"])
        for s in history
        if FROM_US <= parse_timestamp(s["start"]) < TO_US
    )
    assert [s["id"] for s in listed] == [sid for _, sid in expected]
    assert [s["start"] for s in listed] == [format_timestamp(us) for us, _ in expected]


@PROPERTY
@given(history=histories())
def test_durations_are_never_negative_and_floor_the_exact_instants(
    client: TestClient, db: Database, history: list[dict[str, Any]]
) -> None:
    given_ = {s["id"]: s for s in history}
    for session in usage_of(client, db, history)["sessions"]:
        assert session["duration"] >= 0
        source = given_[session["id"]]
        if source["end"] is not None:
            exact_length = parse_timestamp(source["end"]) - parse_timestamp(source["start"])
            assert session["duration"] == exact_length // US


def location_key(group: dict[str, Any]) -> tuple[Any, ...]:
    return (
        -group["count"],
        *((group[k] is None, group[k] or "") for k in ("country", "region", "city")),
    )


@PROPERTY
@given(history=histories())
def test_location_counts_add_up_to_the_viewers_and_are_ordered_as_the_contract_says(
    client: TestClient, db: Database, history: list[dict[str, Any]]
) -> None:
    given_ = {s["id"]: s for s in history}
    for session in usage_of(client, db, history)["sessions"]:
        groups = session["viewers"]["locations"]
        assert sum(g["count"] for g in groups) == session["viewers"]["count"]
        assert [location_key(g) for g in groups] == sorted(location_key(g) for g in groups)
        expected = Counter(
            (
                None if v["location"]["country"] is None else v["location"]["country"].upper(),
                v["location"]["region"],
                v["location"]["city"],
            )
            for v in given_[session["id"]]["viewers"]
        )
        assert session["viewers"]["count"] == len(given_[session["id"]]["viewers"])
        assert {(g["country"], g["region"], g["city"]): g["count"] for g in groups} == expected


@PROPERTY
@given(history=histories(), limit=st.integers(min_value=1, max_value=4))
def test_pages_of_any_size_list_the_window_once_with_the_same_stats(
    client: TestClient, db: Database, history: list[dict[str, Any]], limit: int
) -> None:
    api = fresh_api(client, db)
    if history:
        api.import_sessions(*history)
    # Ongoing sessions keep running between requests: compare only what cannot move.
    whole = api.usage(**{"from": FROM, "to": TO})
    pages = [api.usage(**{"from": FROM, "to": TO}, limit=limit)]
    while pages[-1]["next_cursor"] is not None:
        pages.append(api.usage(limit=limit, cursor=pages[-1]["next_cursor"]))
    assert [s["id"] for p in pages for s in p["sessions"]] == [s["id"] for s in whole["sessions"]]
    assert all(len(p["sessions"]) <= limit for p in pages)
    meetings = {agent: f["meetings"] for agent, f in whole["stats"]["per_agent"].items()}
    for page in pages:
        assert {a: f["meetings"] for a, f in page["stats"]["per_agent"].items()} == meetings
