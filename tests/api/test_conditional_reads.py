"""What a conditional GET reads: one statement for a 304, and every read of a
request on the engine that read its tag (replicas)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.renderer import EntryRenderer
from sharelog.store.database import Database
from sharelog.sweeper import Sweeper
from tests.conftest import Api, Tenant, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-12-01"}
# Bookkeeping that is not the answer's: transaction starts, a key's use (once a
# minute), a replica's state (once a second).
_NOT_READS = ("BEGIN", "UPDATE api_keys", "pg_is_in_recovery")
# The threads of a server's background work (sharelog.background.Periodic).
_BACKGROUND = frozenset({EntryRenderer.name, Sweeper.name})


@contextmanager
def statements(*engines: Engine) -> Iterator[list[list[str]]]:
    """The SQL each engine runs meanwhile, one list per engine, bookkeeping left out."""
    seen: list[list[str]] = [[] for _ in engines]
    listeners = []
    for found, engine in zip(seen, engines, strict=True):

        def listen(_c: Any, _cur: Any, sql: str, *_: Any, found: list[str] = found) -> None:
            # A server's background rounds (the entries' renderer, every 0.5 s) are no
            # request's reads: on a busy machine one landed amid a request's.
            if threading.current_thread().name in _BACKGROUND:
                return
            if not sql.lstrip().startswith(_NOT_READS) and "pg_is_in_recovery" not in sql:
                found.append(sql)

        event.listen(engine, "before_cursor_execute", listen)
        listeners.append((engine, listen))
    try:
        yield seen
    finally:
        for engine, listen in listeners:
            event.remove(engine, "before_cursor_execute", listen)


def seed(api: Api) -> None:
    viewers = [{"id": "v-1", "joined": "2026-11-02T10:01:00Z", "left": None}]
    api.import_sessions(
        session_body("s-1", viewers=viewers),
        session_body(
            "s-2", agent="bob@example.com", start="2026-11-03T09:00:00Z", end="2026-11-03T09:30:00Z"
        ),
    )


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ss/api/usage", WINDOW),
        ("/ss/api/usage", {**WINDOW, "format": "csv", "agent": "bob@example.com"}),
        ("/ss/api/usage_new", WINDOW),
        ("/ss/api/usage/daily", WINDOW),
        ("/ss/api/sessions/s-1", {}),
        ("/ss/api/changes", {}),
    ],
)
def test_a_304_runs_one_statement_and_no_query_of_the_answer(
    api: Api, db: Database, path: str, params: dict[str, str]
) -> None:
    seed(api)
    with statements(db.engine) as [full]:
        first = api.get(path, params=params)
    assert first.status_code == 200
    with statements(db.engine) as [conditional]:
        response = api.get(path, params=params, headers={"If-None-Match": first.headers["etag"]})
    assert response.status_code == 304
    # The check's one statement: positions and an EXISTS, nothing of the answer.
    [check] = conditional
    assert "last_seq" in check
    assert " shares" not in check and " viewers" not in check
    # The full answer ran that check, then its own queries of the sessions.
    assert full[0] == check
    assert len(full) > 1
    assert any("FROM sessions" in sql for sql in full[1:])


def test_the_ongoing_check_uses_its_index_on_sqlite(api: Api, db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's plan; PostgreSQL's depends on its statistics")
    seed(api)
    for params in (WINDOW, {**WINDOW, "agent": "bob@example.com"}):
        with statements(db.engine) as [seen]:
            api.get("/ss/api/usage", params=params)
        check = seen[0]
        with db.engine.connect() as conn:
            # The plan does not depend on the values bound.
            bound = [1] * check.count("?")
            plan = " ".join(
                str(row[3])
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + check, tuple(bound))
            )
        assert "ix_sessions_account_ongoing" in plan, plan


@pytest.fixture
def replicated(db_url: str, db: Database, tenant: Tenant) -> Iterator[tuple[Api, Database]]:
    """The app over a primary and two "replicas" that are the same database: reads
    alternate between the replicas, round robin, unless something keeps them on one."""
    database = Database(db_url, replica_urls=(db_url, db_url))
    app = create_app(Settings(database_url=db_url), database=database)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, tenant), database
    database.dispose()


def test_every_read_of_a_conditional_request_goes_to_the_engine_that_read_its_tag(
    replicated: tuple[Api, Database],
) -> None:
    api, database = replicated
    # The check, then the answer's own snapshots (a document's stats, then its
    # chunks): without a pin, round robin would spread them over both replicas.
    api.import_sessions(*(session_body(f"s-{i}") for i in range(4)))
    engines = (database.engine, *database.replica_engines)
    # Once: the secret that signs tags is read from the primary, and the key's
    # use and the account's feed read are recorded there (once a minute each).
    api.get("/ss/api/usage", params=WINDOW)
    api.get("/ss/api/changes")
    requests = [
        ("/ss/api/usage", WINDOW),
        ("/ss/api/usage", {**WINDOW, "format": "ndjson"}),
        ("/ss/api/usage_new", WINDOW),
        ("/ss/api/sessions/s-1", {}),
        ("/ss/api/changes", {}),
    ]
    for path, params in requests * 2:
        with statements(*engines) as seen:
            response = api.get(path, params=params)
        assert response.status_code == 200
        used = [len(found) for found in seen]
        # All of the request's reads on one engine, the check's included.
        assert sum(1 for n in used if n) == 1, (path, seen)
        assert used[0] == 0, "a replica that keeps up serves the reads"
        assert max(used) >= 2


def test_a_conditional_request_with_a_min_position_pins_the_engine_it_chose(
    replicated: tuple[Api, Database],
) -> None:
    api, database = replicated
    if database.is_sqlite:
        pytest.skip("positions exist on PostgreSQL")
    api.import_sessions(session_body("s-1"))
    # Replicas that are not standbys have no replay position: a read that must
    # see one goes to the primary, and all of it stays there.
    headers = {"Sharelog-Min-Position": "0/1"}
    with statements(database.engine, *database.replica_engines) as seen:
        response = api.get("/ss/api/usage", params=WINDOW, headers=headers)
    assert response.status_code == 200
    assert [bool(found) for found in seen] == [True, False, False]
