"""Sessions made by events, and by imports and events interleaved, against what the
contract's words make of them (``tests/contract/reference.py``), whether usage objects
are built or written ahead."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, make_tenant
from tests.contract.reference import (
    BASE,
    _event,
    _examples,
    _ids,
    _import_as_events,
    _steps,
    _tenants,
    events,
    matches_reference,
    started,
)

# --- POST /ss/api/events against the contract's words ----------------------------------


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(st.tuples(_ids, _event()), min_size=1, max_size=20, unique_by=lambda t: t[0]),
    cut=st.integers(min_value=0, max_value=20),
)
def test_events_give_the_session_the_contract_describes(
    client: TestClient, db: Database, drawn: list[tuple[str, dict[str, Any]]], cut: int
) -> None:
    api = Api(client, make_tenant(db, f"ref-{next(_tenants)}"))
    evs = [{"id": eid, "session": "s-1", **e} for eid, e in drawn]
    for part in (evs[:cut], evs[cut:], evs[: cut // 2]):  # the last one: all duplicates
        if part:
            response = api.post("/ss/api/events", json={"events": part})
            assert response.status_code == 200, response.text
    matches_reference(api, evs)


@_examples(40)
@given(steps=_steps(6, 5))
def test_imports_and_events_interleaved_give_the_session_the_contract_describes(
    client: TestClient, db: Database, steps: list[tuple[str, Any]]
) -> None:
    api = Api(client, make_tenant(db, f"mix-{next(_tenants)}"))
    used: set[str] = set()
    counting: list[dict[str, Any]] = []  # the events that count: since the last import
    for n, (kind, value) in enumerate(steps):
        if kind == "import":
            reply = api.import_sessions(value)
            assert reply["received"] == 1
            counting = _import_as_events(value, n)
            continue
        batch = [{"id": eid, "session": "s-1", **e} for eid, e in value]
        reply = api.post("/ss/api/events", json={"events": batch}).json()
        fresh = []
        for e in batch:
            if e["id"] not in used:
                used.add(e["id"])
                fresh.append(e)
        assert (reply["accepted"], reply["duplicates"]) == (len(fresh), len(batch) - len(fresh))
        counting += fresh
    matches_reference(api, counting)


# --- The same answers from usage objects written ahead (the server's default) ---------


@_examples(25)
@given(steps=_steps(8, 4), ended=st.booleans())
def test_usage_objects_written_ahead_are_the_ones_built(
    entries_app_client: TestClient, db: Database, steps: list[tuple[str, Any]], ended: bool
) -> None:
    from sharelog.renderer import render_pending

    api = Api(entries_app_client, make_tenant(db, f"ahead-{next(_tenants)}"))
    for kind, value in steps:
        if kind == "import":
            api.import_sessions(value)
        else:
            batch = [{"id": eid, "session": "s-1", **e} for eid, e in value]
            batch.append(
                {
                    "id": f"w-{len(batch)}",
                    "type": "webcam.started",
                    "session": "s-1",
                    "at": BASE + 0.6,
                }
            )
            assert api.post("/ss/api/events", json={"events": batch}).status_code == 200
    if ended:
        api.post(
            "/ss/api/events",
            json=events(
                started("late-start", "s-1", BASE + 5),
                {"id": "late-end", "type": "session.ended", "session": "s-1", "at": BASE + 7.3},
            ),
        )
    params = {"from": "2026-11-01", "to": "2026-11-05"}
    built = [
        api.get("/ss/api/usage", params={**params, "format": f}).content
        for f in ("json", "ndjson", "csv")
    ]
    render_pending(db)
    if b'"end":null' not in built[0]:
        from sqlalchemy import func, select

        from sharelog.store.schema import session_entries

        with db.reading() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(session_entries)
                .where(session_entries.c.account_id == api.tenant.account_id)
            ).scalar_one()
        assert count == built[0].count(b'"id":"s-1"')
    stored = [
        api.get("/ss/api/usage", params={**params, "format": f}).content
        for f in ("json", "ndjson", "csv")
    ]
    if b'"end":null' not in built[0]:
        assert stored == built
