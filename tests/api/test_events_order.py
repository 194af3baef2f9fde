"""Order-free: any shuffling, duplication and batching of the same events gives the same usage."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, make_tenant

_counter = itertools.count()
BASE = 1_793_606_400  # 2026-11-02T08:00:00Z


def events_strategy() -> st.SearchStrategy[list[dict[str, Any]]]:
    minute = st.integers(min_value=0, max_value=120).map(lambda m: BASE + 60 * m)
    session = st.sampled_from(["s-1", "s-2"])
    viewer = st.sampled_from(["v-1", "v-2", "v-3"])
    country = st.sampled_from([None, "IS", "US", "DE"])
    one = st.one_of(
        st.builds(
            lambda s, at, a: {"type": "session.started", "session": s, "at": at, "agent": a},
            session,
            minute,
            st.sampled_from(["a@example.com", "b@example.com"]),
        ),
        st.builds(lambda s, at: {"type": "session.ended", "session": s, "at": at}, session, minute),
        st.builds(
            lambda s, at, t: {
                "type": "share.started",
                "session": s,
                "at": at,
                "share_type": t,
                "title": t,
            },
            session,
            minute,
            st.sampled_from(["screen", "tab", "window"]),
        ),
        st.builds(
            lambda s, at, v, c: {
                "type": "viewer.joined",
                "session": s,
                "at": at,
                "viewer": v,
                **({"location": {"country": c}} if c else {}),
            },
            session,
            minute,
            viewer,
            country,
        ),
        st.builds(
            lambda s, at, v: {"type": "viewer.left", "session": s, "at": at, "viewer": v},
            session,
            minute,
            viewer,
        ),
    )
    return st.lists(one, min_size=1, max_size=25).map(
        lambda events: [{"id": f"e{i:03d}", **e} for i, e in enumerate(events)]
    )


def snapshot(api: Api) -> tuple[Any, ...]:
    """Usage and every session's detail, without the figures that run to "now"
    (ongoing sessions), which differ between two reads a moment apart."""
    usage = api.usage(**{"from": "2026-11-01", "to": "2026-11-05"})
    details = [api.get(f"/ss/api/sessions/{s['id']}").json() for s in usage["sessions"]]
    for session in [*usage["sessions"], *details]:
        if session["end"] is None:
            session.pop("duration")
            for viewer in session["viewers"].get("list", []):
                viewer.pop("watched_seconds")  # an open segment runs to now
                if viewer["left"] is None:
                    viewer.pop("seconds")
    meetings = {agent: f["meetings"] for agent, f in usage["stats"]["per_agent"].items()}
    return meetings, usage["sessions"], details


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events_strategy(), data=st.data())
def test_shuffled_duplicated_rebatched_delivery_gives_the_same_usage(
    client: TestClient, db: Database, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    in_order = Api(client, make_tenant(db, f"ordered-{next(_counter)}"))
    assert in_order.post("/ss/api/events", json={"events": events}).status_code == 200

    shuffled = Api(client, make_tenant(db, f"shuffled-{next(_counter)}"))
    delivery = data.draw(
        st.permutations(events + data.draw(st.lists(st.sampled_from(events), max_size=8)))
    )
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(delivery) - 1)), max_size=4)))
    accepted = 0
    for start, end in itertools.pairwise([0, *cuts, len(delivery)]):
        if start < end:
            response = shuffled.post("/ss/api/events", json={"events": delivery[start:end]})
            assert response.status_code == 200
            accepted += response.json()["accepted"]
    assert accepted == len(events)
    assert snapshot(shuffled) == snapshot(in_order)
