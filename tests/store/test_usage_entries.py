"""Usage answers from stored usage entries (sharelog.renderer): the same bytes, or none."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from sharelog.api import app as app_module
from sharelog.code_version import code_version
from sharelog.config import Settings
from sharelog.renderer import render_pending
from sharelog.store import session_entries as entry_store
from sharelog.store.database import Database
from sharelog.store.schema import accounts, sessions
from tests.conftest import Api, Tenant, session_body
from tests.store.test_session_entries import (
    LATE_JOIN,
    entries_client,
    events,
    post_events,
    stored,
)

WINDOW = {"from": "2026-10-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
# Every shape a usage answer that carries usage objects can take.
SHAPES: list[dict[str, Any]] = [
    {},
    {"limit": 2},
    {"limit": 1, "agent": "alice@example.com"},
    {"include": "sessions"},
    {"format": "ndjson"},
    {"format": "ndjson", "limit": 2},
]


@pytest.fixture
def reading(db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """A server that reads stored entries, whose renderer renders only when a test
    calls ``render_pending`` (its one round at start finds nothing to do)."""
    monkeypatch.setattr(app_module, "RENDER_INTERVAL_SECONDS", 3600)
    for client in entries_client(db):
        yield Api(client, tenant)


def fill(api: Api) -> None:
    """Ended sessions only (an ongoing one's duration runs to now), from events and
    an import, of two agents."""
    for i in range(4):
        post_events(api, events(f"s-{i}", i))
    api.import_sessions(
        session_body("imported", start="2026-11-02T08:00:00Z"),
        session_body(
            "bob-1",
            agent="bob@example.com",
            start="2026-11-03T08:00:00Z",
            end="2026-11-03T09:00:00Z",
        ),
    )


def answers(api: Api) -> list[bytes]:
    """Every page of every shape, as the bytes the server sent."""
    bodies = []
    for shape in SHAPES:
        cursor = None
        while True:
            params = {**WINDOW, **shape, **({"cursor": cursor} if cursor else {})}
            response = api.get("/ss/api/usage", params=params)
            assert response.status_code == 200, response.text
            bodies.append(response.content)
            link = response.headers.get("link")
            if shape.get("format") == "ndjson":
                if link is None:
                    break
                cursor = link.split("cursor=")[1].split(">")[0]
            else:
                cursor = orjson.loads(response.content).get("next_cursor")
                if cursor is None:
                    break
    return bodies


def stored_usage(db: Database, tenant: Tenant) -> dict[str, Any]:
    return {sid: orjson.loads(body) for sid, body in stored(db, tenant, "usage").items()}


def test_usage_from_stored_entries_is_usage_built_afresh(
    api: Api, reading: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    built = answers(api)
    assert render_pending(db) == 0  # nobody has read yet
    assert answers(reading) == built  # read: built, as nothing is stored
    assert render_pending(db) == 6
    entries = stored_usage(db, tenant)
    assert set(entries) == {"s-0", "s-1", "s-2", "s-3", "imported", "bob-1"}
    assert answers(reading) == built
    # And the stored objects are the document's own.
    document = orjson.loads(built[0])["sessions"]
    assert document == [entries[s["id"]] for s in document]


def test_a_stored_entry_is_what_is_sent(
    api: Api, reading: Api, db: Database, tenant: Tenant
) -> None:
    api.import_sessions(session_body("s-1"))
    with db.reading() as conn:
        seq = conn.execute(select(sessions.c.seq).where(sessions.c.id == "s-1")).scalar_one()
    with db.writing() as conn:
        entry_store.write_entries(conn, tenant.account_id, "older code", [("s-1", seq, "1", "1")])
    assert reading.usage(**WINDOW)["sessions"][0]["id"] == "s-1"
    with db.writing() as conn:
        entry_store.write_entries(conn, tenant.account_id, code_version(), [("s-1", seq, "1", "2")])
    # The same seq and this code's version: the stored text is what is sent, in
    # the document, on a page and in NDJSON; never in usage_new or CSV.
    assert reading.usage(**WINDOW)["sessions"] == [2]
    assert reading.usage(**WINDOW, limit=5)["sessions"] == [2]
    ndjson = reading.get("/ss/api/usage", params={**WINDOW, "format": "ndjson"})
    assert ndjson.content == b"2\n"
    csv = reading.get("/ss/api/usage", params={**WINDOW, "format": "csv"})
    assert csv.text.splitlines()[1].startswith("s-1,")
    new = reading.get("/ss/api/usage_new", params=WINDOW)
    assert orjson.loads(new.content)["sessions"][0] != 2
    # A server that does not write entries ahead does not read them either.
    assert api.usage(**WINDOW)["sessions"][0]["id"] == "s-1"


def test_a_session_changed_after_its_entry_is_shown_as_it_is_now(
    api: Api, reading: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    answers(reading)
    assert render_pending(db) == 6
    post_events(api, [LATE_JOIN])
    # One session stored at an old position, the rest current: a page of both.
    now = answers(reading)
    assert now == answers(api)
    [s1] = [s for s in orjson.loads(now[0])["sessions"] if s["id"] == "s-1"]
    assert s1["viewers"]["count"] == 4
    assert stored_usage(db, tenant)["s-1"]["viewers"]["count"] == 3
    assert render_pending(db) == 1
    assert stored_usage(db, tenant)["s-1"] == s1
    assert answers(reading) == now


def test_a_session_still_going_on_is_never_stored_and_runs_to_now(
    api: Api, reading: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    post_events(api, events("live", 10, ended=False))
    answers(reading)
    assert render_pending(db) == 6  # the ended ones
    assert "live" not in stored_usage(db, tenant)
    [live] = [s for s in reading.usage(**WINDOW, limit=10)["sessions"] if s["id"] == "live"]
    assert live["end"] is None
    start = datetime.fromisoformat(live["start"].replace("Z", "+00:00")).timestamp()
    assert abs(live["duration"] - (time.time() - start)) < 5


def test_reading_usage_marks_the_account_as_reading_usage(
    reading: Api, db: Database, tenant: Tenant
) -> None:
    def read_us() -> tuple[int | None, int | None]:
        with db.reading() as conn:
            row = conn.execute(
                select(accounts.c.feed_read_us, accounts.c.usage_read_us).where(
                    accounts.c.id == tenant.account_id
                )
            ).one()
            return row[0], row[1]

    assert reading.get("/ss/api/usage", params={"format": "csv"}).status_code == 200
    assert reading.get("/ss/api/usage", params={"include": "stats"}).status_code == 200
    assert read_us() == (None, None)  # neither carries usage objects
    assert reading.get("/ss/api/usage", params={"limit": 1}).status_code == 200
    feed_read, usage_read = read_us()
    assert feed_read is None and usage_read is not None
    assert reading.get("/ss/api/changes").status_code == 200
    assert read_us()[0] is not None


def test_the_setting_is_read_under_its_earlier_name_too() -> None:
    assert Settings.from_env({}).session_entries is True
    assert Settings.from_env({"SHARELOG_FEED_ENTRIES": "false"}).session_entries is False
    both = {"SHARELOG_FEED_ENTRIES": "false", "SHARELOG_SESSION_ENTRIES": "true"}
    assert Settings.from_env(both).session_entries is True
