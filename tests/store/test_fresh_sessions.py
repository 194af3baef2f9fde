"""The usage objects of sessions an events request created, built from its merged
rows for webhook messages, are exactly what reading them back gives."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharelog.domain import EventIn, Location
from sharelog.store import events as event_store
from sharelog.store import outbox
from sharelog.store.database import Database
from tests.conftest import make_tenant

T0 = 1_793_606_400_000_000
# Few instants, so that shares and joins tie; ids whose order differs between
# code points and a natural-language collation.
INSTANTS = st.sampled_from([T0 + k * 500_000 for k in range(6)])
IDS = ("a-1", "A1", "b_2", "Z", "a.3", "a1", "B", "-x")
PLACES = st.sampled_from(
    [Location(), Location("IS"), Location("IS", "Capital", "Reykjavik"), Location("US", "CA")]
)
NAMES = itertools.count()


def event(kind: str, sid: str, at: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "session_id": sid, "at_us": at, **fields}


@st.composite
def batches(draw: st.DrawFn) -> list[EventIn]:
    drafted: list[dict[str, Any]] = []
    for sid in draw(st.lists(st.sampled_from(["s-1", "s-2", "s-3"]), min_size=1, unique=True)):
        if draw(st.booleans()) or not drafted:
            drafted.append(
                event(
                    "session.started",
                    sid,
                    draw(INSTANTS),
                    agent="a@x.io",
                    agent_name=draw(st.none() | st.just("Alice")),
                )
            )
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["screen", "tab"]))
            drafted.append(
                event("share.started", sid, draw(INSTANTS), share_type=kind, title="T", url=None)
            )
        for viewer in draw(st.lists(st.sampled_from(["v1", "v2", "v3"]), unique=True)):
            for _ in range(draw(st.integers(1, 3))):
                kind = draw(st.sampled_from(["viewer.joined", "viewer.left"]))
                extra = {"location": draw(PLACES)} if kind == "viewer.joined" else {}
                drafted.append(event(kind, sid, draw(INSTANTS), viewer_id=viewer, **extra))
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["webcam.started", "webcam.stopped"]))
            drafted.append(event(kind, sid, draw(INSTANTS)))
        if draw(st.booleans()):
            drafted.append(event("session.ended", sid, draw(INSTANTS) + 10_000_000))
    ids = draw(st.permutations(list(IDS) * 8))
    return [EventIn(id=f"{ids[i]}{i}", **e) for i, e in enumerate(drafted)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=batches())
def test_fresh_objects_are_what_reading_them_back_gives(db: Database, batch: list[EventIn]) -> None:
    tenant = make_tenant(db, f"fresh-{next(NAMES)}")
    now = T0 + 3_600_000_000
    with db.writing(tenant.account_id) as conn:
        result, fresh = event_store.merge_events(conn, tenant.account_id, batch, now)
        assert fresh is not None
        ids = [c.id for c in result.changes]
        built = fresh.objects(conn, tenant.account_id, ids, now)
        read = outbox.session_objects(conn, tenant.account_id, ids, now)
    assert built == read
    assert set(built) == {sid for sid in ids if fresh.sessions[sid]["start_us"] is not None}
