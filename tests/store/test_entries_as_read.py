"""Entries written for what an account reads (sharelog.renderer): a body is made while
its kind is read, kept a while after, dropped, and made again from the start when read
again; whatever is not made is built, the same bytes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select, update

from sharelog import renderer
from sharelog.api import app as app_module
from sharelog.renderer import render_pending
from sharelog.store import session_entries as entry_store
from sharelog.store.database import Database
from sharelog.store.schema import accounts
from sharelog.timestamps import now_us
from tests.conftest import Api, Tenant
from tests.store.test_session_entries import (
    entries_client,
    events,
    fill,
    pages,
    post_events,
    settled,
    stored,
)


def test_only_accounts_that_read_their_feed_have_entries_written(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    assert render_pending(db) == 0
    api.get("/ss/api/changes", params={"limit": 1})
    assert render_pending(db) == 5


def test_only_what_an_account_reads_is_written_ahead(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    with db.writing() as conn:  # as a read of usage objects records it
        entry_store.note_read(conn, tenant.account_id, entry_store.Bodies.USAGE, now_us())
    assert render_pending(db) == 5
    assert set(stored(db, tenant, "feed").values()) == {None}
    assert None not in stored(db, tenant, "usage").values()
    usage_bodies = stored(db, tenant, "usage")
    built = pages(api)  # the feed is built while its entries are missing
    # Reading the feed too: every entry is made again, with both bodies.
    assert render_pending(db) == 5
    assert None not in stored(db, tenant, "feed").values()
    assert stored(db, tenant, "usage") == usage_bodies
    assert settled(pages(api)) == settled(built)
    assert render_pending(db) == 0


def test_a_feed_reader_has_no_usage_objects_written(api: Api, db: Database, tenant: Tenant) -> None:
    fill(api)
    pages(api)
    assert render_pending(db) == 5
    assert set(stored(db, tenant, "usage").values()) == {None}
    with db.reading() as conn:
        bodies = conn.execute(
            select(accounts.c.rendered_bodies).where(accounts.c.id == tenant.account_id)
        ).scalar_one()
    assert entry_store.Bodies(bodies) == entry_store.Bodies.FEED


def read_at(db: Database, tenant: Tenant, body: entry_store.Bodies, days_ago: float) -> None:
    """The account's latest read of ``body``, so many days ago."""
    with db.writing() as conn:
        conn.execute(
            update(accounts)
            .where(accounts.c.id == tenant.account_id)
            .values({entry_store.READ_COLUMNS[body]: now_us() - int(days_ago * 86_400e6)})
        )


def rendered_bodies(db: Database, tenant: Tenant) -> entry_store.Bodies:
    with db.reading() as conn:
        value = conn.execute(
            select(accounts.c.rendered_bodies).where(accounts.c.id == tenant.account_id)
        ).scalar_one()
    return entry_store.Bodies(value)


def test_a_reader_back_after_a_pause_does_not_have_everything_made_again(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    both = entry_store.Bodies.FEED | entry_store.Bodies.USAGE
    read_at(db, tenant, entry_store.Bodies.FEED, 0)
    read_at(db, tenant, entry_store.Bodies.USAGE, 0)
    assert render_pending(db) == 5 and rendered_bodies(db, tenant) == both
    # The feed's reader pauses for 10 days; usage is read on. New sessions still
    # get feed entries (read within renderer.KEPT_DAYS).
    read_at(db, tenant, entry_store.Bodies.FEED, 10)
    post_events(api, events("s-new", 30))
    assert render_pending(db) == 1
    assert rendered_bodies(db, tenant) == both
    assert None not in stored(db, tenant, "feed").values()
    # The feed's reader comes back: nothing to make again.
    read_at(db, tenant, entry_store.Bodies.FEED, 0)
    assert render_pending(db) == 0


def test_a_body_unread_for_long_is_dropped_and_made_again_when_read(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    read_at(db, tenant, entry_store.Bodies.FEED, 0)
    read_at(db, tenant, entry_store.Bodies.USAGE, 0)
    assert render_pending(db) == 5
    read_at(db, tenant, entry_store.Bodies.FEED, renderer.KEPT_DAYS + 1)
    post_events(api, events("s-new", 30))
    assert render_pending(db) == 1
    assert rendered_bodies(db, tenant) == entry_store.Bodies.USAGE
    assert stored(db, tenant, "feed")["s-new"] is None
    read_at(db, tenant, entry_store.Bodies.FEED, 0)
    assert render_pending(db) == 6  # from the first position, both bodies
    assert None not in stored(db, tenant, "feed").values()
    assert render_pending(db) == 0


def test_usage_is_built_where_only_feed_entries_are_made(
    api: Api, db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "RENDER_INTERVAL_SECONDS", 3600)  # rendered by the test
    fill(api)
    for client in entries_client(db):
        reading = Api(client, tenant)
        window = {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}
        built = reading.get("/ss/api/usage", params=window).content
        read_at(db, tenant, entry_store.Bodies.FEED, 0)
        read_at(db, tenant, entry_store.Bodies.USAGE, renderer.KEPT_DAYS + 1)  # not made
        assert render_pending(db) == 5
        assert set(stored(db, tenant, "usage").values()) == {None}
        assert unclocked(reading.get("/ss/api/usage", params=window).content) == unclocked(built)


def unclocked(body: bytes) -> dict[str, Any]:
    """A usage document without what runs on with the clock between two requests:
    the stats and the sessions still going on (their seconds run to now)."""
    document: dict[str, Any] = orjson.loads(body)
    del document["stats"]
    document["sessions"] = [s for s in document["sessions"] if s["end"] is not None]
    assert document["sessions"], "the window holds ended sessions"
    return document
