"""Sessions' entries written ahead (sharelog.renderer): the same bytes, or none."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from sharelog import renderer
from sharelog.api import create_app
from sharelog.code_version import code_version
from sharelog.config import Settings
from sharelog.renderer import render_pending
from sharelog.store import session_entries as entry_store
from sharelog.store.database import Database
from sharelog.store.positions import mark_deleted
from sharelog.store.schema import accounts, session_entries, sessions
from sharelog.store.sessions import delete_sessions
from sharelog.timestamps import now_us
from tests.conftest import Api, Tenant, session_body


def pages(api: Api, limit: int = 3) -> list[bytes]:
    """Every page of the feed from the start, as the bytes the server sent."""
    bodies, since = [], None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"since": since} if since else {})}
        response = api.get("/ss/api/changes", params=params)
        assert response.status_code == 200, response.text
        bodies.append(response.content)
        page = orjson.loads(response.content)
        since = page["next"]
        if not page["has_more"]:
            return bodies


def events(sid: str, minute: int, *, ended: bool = True) -> list[dict[str, Any]]:
    """A session with two shares and viewers of every shape: one who watched once,
    one who came back (two segments), one still watching, one from elsewhere."""
    at = 1_793_606_400 + minute * 60
    batch: list[dict[str, Any]] = [
        {"type": "session.started", "at": at, "agent": "alice@example.com", "agent_name": "Al"},
        {"type": "share.started", "at": at + 2, "share_type": "screen", "title": "Entire screen"},
        {
            "type": "share.started",
            "at": at + 90,
            "share_type": "tab",
            "title": "Pricing",
            "url": "https://example.com/pricing",
        },
        {"type": "viewer.joined", "at": at + 5.25, "viewer": "v-a", "location": {"country": "IS"}},
        {"type": "viewer.left", "at": at + 50.5, "viewer": "v-a"},
        {
            "type": "viewer.joined",
            "at": at + 6,
            "viewer": "v-b",
            "location": {"country": "US", "region": "CA", "city": "San Jose"},
        },
        {"type": "viewer.left", "at": at + 20, "viewer": "v-b"},
        {"type": "viewer.joined", "at": at + 30, "viewer": "v-b"},
        {"type": "viewer.joined", "at": at + 40, "viewer": "v-c", "location": {"country": "IS"}},
    ]
    if ended:
        batch.append({"type": "session.ended", "at": at + 600})
    return [{"id": f"{sid}-e{i}", "session": sid, **e} for i, e in enumerate(batch)]


def post_events(api: Api, batch: list[dict[str, Any]]) -> None:
    response = api.post("/ss/api/events", json={"events": batch})
    assert response.status_code == 200, response.text


# A viewer joining s-1 after its entry was made: the session moves to a new position.
LATE_JOIN = {
    "id": "late-1",
    "session": "s-1",
    "type": "viewer.joined",
    "at": 1_793_606_400 + 60 + 100,
    "viewer": "v-late",
    "location": {"country": "FR"},
}


def fill(api: Api) -> None:
    for i in range(6):
        post_events(api, events(f"s-{i}", i, ended=i != 4))
    api.import_sessions(session_body("imported", start="2026-11-02T08:00:00Z"))
    status = api.client.delete(
        "/ss/api/sessions/s-5", headers={"Authorization": f"Basic {api.tenant.write_key}"}
    ).status_code
    assert status == 204


def settled(bodies: list[bytes]) -> list[Any]:
    """Every change but those of sessions still going on (theirs run to now)."""
    changes = [c for body in bodies for c in orjson.loads(body)["changes"]]
    return [c for c in changes if c["session"] is None or c["session"]["end"] is not None]


def stored(db: Database, tenant: Tenant, column: str = "seq") -> dict[str, Any]:
    """The tenant's stored entries, by session id: their ``column``."""
    with db.reading() as conn:
        rows = conn.execute(
            select(session_entries.c.id, session_entries.c[column]).where(
                session_entries.c.account_id == tenant.account_id
            )
        ).all()
    return {r[0]: r[1] for r in rows}


def test_a_feed_of_stored_entries_is_the_feed_built_afresh(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    built = pages(api)
    assert render_pending(db) == 5  # the ended sessions: 4 of events, 1 imported
    assert set(stored(db, tenant)) == {"s-0", "s-1", "s-2", "s-3", "imported"}
    assert settled(pages(api)) == settled(built)
    assert len(settled(built)) == 6  # five ended sessions and a deletion
    assert render_pending(db) == 0  # nothing moved since


def test_a_session_changed_after_its_entry_is_shown_as_it_is_now(
    api: Api, db: Database, tenant: Tenant
) -> None:
    fill(api)
    pages(api)  # a reader of the feed: its entries are written ahead
    render_pending(db)
    post_events(api, [LATE_JOIN])
    changes = settled(pages(api))
    [entry] = [c for c in changes if c["id"] == "s-1"]
    assert "v-late" in [v["id"] for v in entry["session"]["viewers"]["list"]]
    assert entry["session"]["viewers"]["count"] == 4
    # The entry at the old position is still stored, and not used; the renderer replaces it.
    old = stored(db, tenant)["s-1"]
    assert old < entry["seq"]
    render_pending(db)
    assert stored(db, tenant)["s-1"] == entry["seq"]
    assert settled(pages(api)) == changes


def test_entries_of_other_code_are_not_used(api: Api, db: Database, tenant: Tenant) -> None:
    api.import_sessions(session_body("s-1"))
    with db.reading() as conn:
        seq = conn.execute(select(sessions.c.seq).where(sessions.c.id == "s-1")).scalar_one()
    with db.writing() as conn:
        entry_store.write_entries(
            conn, tenant.account_id, "older code", [("s-1", seq, '"stale"', '"stale"')]
        )
    [body] = pages(api)
    assert orjson.loads(body)["changes"][0]["session"]["id"] == "s-1"
    with db.writing() as conn:
        entry_store.write_entries(
            conn, tenant.account_id, code_version(), [("s-1", seq, '"x"', '"y"')]
        )
    # The same seq and this code's version: the stored text is what is sent.
    assert orjson.loads(pages(api)[0])["changes"][0]["session"] == "x"


def test_deleting_a_session_deletes_its_entry(api: Api, db: Database, tenant: Tenant) -> None:
    fill(api)
    pages(api)
    render_pending(db)
    assert "s-0" in stored(db, tenant)
    status = api.client.delete(
        "/ss/api/sessions/s-0", headers={"Authorization": f"Basic {api.tenant.write_key}"}
    ).status_code
    assert status == 204
    assert "s-0" not in stored(db, tenant)


def test_renderers_at_once_write_each_entry_once(api: Api, db: Database, tenant: Tenant) -> None:
    def at(minute: int) -> str:
        return f"2026-11-{2 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z"

    for first in (0, 600):
        api.import_sessions(
            *(
                session_body(f"s-{i:04d}", start=at(2 * i), end=at(2 * i + 1))
                for i in range(first, first + 600)
            )
        )
    built = pages(api, limit=1000)
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(render_pending(db))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Claims follow one another: the chunks add up to every session exactly once.
    assert sum(counts) == 1200
    assert len(stored(db, tenant)) == 1200
    assert pages(api, limit=1000) == built


@pytest.fixture
def rendering_client(db: Database) -> Iterator[TestClient]:
    yield from entries_client(db)


def entries_client(db: Database) -> Iterator[TestClient]:
    """A client of a server that writes entries ahead and reads them."""
    app = create_app(Settings(database_url=db.url, session_entries=True), database=db)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        yield client


def test_a_running_server_renders_by_itself(
    rendering_client: TestClient, db: Database, tenant: Tenant
) -> None:
    api = Api(rendering_client, tenant)
    fill(api)
    pages(api)
    deadline = time.monotonic() + 20
    while True:
        with db.reading() as conn:
            behind = conn.execute(
                select(accounts.c.last_seq - accounts.c.rendered_seq).where(
                    accounts.c.id == tenant.account_id
                )
            ).scalar_one()
            count = conn.execute(select(func.count()).select_from(session_entries)).scalar_one()
        if behind == 0 and count == 5:
            break
        assert time.monotonic() < deadline, f"{behind} positions not rendered, {count} entries"
        time.sleep(0.1)


def test_entries_of_other_code_are_made_again_from_the_start(
    api: Api, db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(api)
    pages(api)
    assert render_pending(db) == 5
    monkeypatch.setattr(renderer, "code_version", lambda: "upgraded")
    # Nothing moved, but the code did: every entry is made again, by it.
    assert render_pending(db) == 5
    with db.reading() as conn:
        versions = set(conn.execute(select(session_entries.c.version)).scalars())
        rendered_by = conn.execute(
            select(accounts.c.rendered_version).where(accounts.c.id == tenant.account_id)
        ).scalar_one()
    assert versions == {"upgraded"} and rendered_by == "upgraded"
    assert render_pending(db) == 0


def test_no_entry_is_written_for_a_session_deleted_after_its_snapshot(
    api: Api, db: Database, tenant: Tenant
) -> None:
    api.import_sessions(session_body("s-1"), session_body("s-2"))
    with db.reading() as conn:
        chunk = entry_store.render_after(conn, tenant.account_id, 0, 500, now_us())
    assert [entry[0] for entry in chunk.entries] == ["s-1", "s-2"]
    status = api.client.delete(
        "/ss/api/sessions/s-1", headers={"Authorization": f"Basic {api.tenant.write_key}"}
    ).status_code
    assert status == 204
    with db.writing(tenant.account_id) as conn:
        entry_store.write_entries(conn, tenant.account_id, code_version(), chunk.entries)
    assert set(stored(db, tenant)) == {"s-2"}


def test_a_renderer_waits_for_a_writer_of_the_account(
    api: Api, db: Database, tenant: Tenant
) -> None:
    """A deletion locks the entry's row, then the account's; the renderer takes the
    account's write lock first, as every writer does, so the two never deadlock."""
    api.import_sessions(session_body("s-1"), session_body("s-2"))
    pages(api)
    assert render_pending(db) == 2
    late = {
        "id": "late",
        "session": "s-1",
        "type": "viewer.joined",
        "viewer": "v",
        "at": "2026-11-02T10:05:00Z",
    }
    post_events(api, [late])  # s-1 at a new position: the next chunk's
    errors: list[BaseException] = []
    deleting = threading.Event()

    def delete_s1() -> None:
        try:
            with db.writing(tenant.account_id) as conn:
                delete_sessions(conn, tenant.account_id, ["s-1"])
                deleting.set()
                time.sleep(0.3)  # the renderer runs meanwhile
                mark_deleted(conn, tenant.account_id, ["s-1"], now_us())
        except BaseException as exc:
            errors.append(exc)
        finally:
            deleting.set()

    writer = threading.Thread(target=delete_s1)
    writer.start()
    deleting.wait()
    render_pending(db)
    writer.join()
    assert errors == []
    assert set(stored(db, tenant)) == {"s-2"}
