"""Scale-out pieces that need no cluster: positions, readiness, a distributable schema.

The cluster itself (standby, failover, HAProxy) is tests/cluster/, run by
``make test-cluster``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database
from sharelog.store.replicas import parse_position
from tests.conftest import POSTGRES_ADMIN_URL, Api, session_body

# Tables without tenant rows, or read across tenants, and so not distributed
# by account_id (Citus reference tables, or not in Citus at all).
NOT_DISTRIBUTED = {
    "accounts",  # the tenants themselves
    "server_settings",  # one row per setting of the server (the stored secret)
    "api_keys",  # looked up by key hash before the account is known
    "alembic_version",  # Alembic's bookkeeping
}


def test_every_write_answer_carries_its_position_and_reads_accept_it(api: Api) -> None:
    response = api.post("/ss/api/sessions", json={"sessions": [session_body("s-1")]})
    assert response.status_code == 200
    position = response.headers.get("Sharelog-Position")
    if api.client.app.state.db.is_sqlite:  # type: ignore[attr-defined]
        # One file, no replica, no WAL position to wait for.
        assert position is None
        position = "0/0"
    else:
        assert position is not None and parse_position(position) > 0
    read = api.get("/ss/api/sessions/s-1", headers={"Sharelog-Min-Position": position})
    assert read.status_code == 200
    assert read.headers.get("Sharelog-Position") is None  # reads write nothing


@pytest.mark.parametrize("bad", ["", "16B3748", "0/XYZ", "1/2/3", "123456789/0"])
def test_a_malformed_min_position_is_a_400_naming_it(api: Api, bad: str) -> None:
    response = api.get("/ss/api/usage", headers={"Sharelog-Min-Position": bad})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "Sharelog-Min-Position"


def test_readyz_is_503_until_the_schema_is_this_codes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    database = Database(url)
    try:
        with TestClient(create_app(Settings(database_url=url), database=database)) as client:
            missing = client.get("/readyz")
            assert missing.status_code == 503
            assert missing.json()["error"]["code"] == "unavailable"
            migrate.upgrade(database.engine)
            assert client.get("/readyz").status_code == 200
            with database.engine.begin() as conn:
                conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            older = client.get("/readyz")
            assert older.status_code == 503
            assert "0001" in older.json()["error"]["message"]
    finally:
        database.dispose()


def test_the_schema_stays_distributable_by_account(postgres_url: str) -> None:
    """Every tenant table's primary key and unique index lead with account_id (Citus)."""
    engine = create_engine(postgres_url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        assert tables >= NOT_DISTRIBUTED, "an exception names a table that is gone"
        checked = 0
        for table in sorted(tables - NOT_DISTRIBUTED):
            pk = inspector.get_pk_constraint(table)["constrained_columns"]
            assert pk and pk[0] == "account_id", f"{table}: primary key {pk}"
            for index in inspector.get_indexes(table):
                assert index["column_names"][0] == "account_id", f"{table}: {index['name']}"
            for unique in inspector.get_unique_constraints(table):
                assert unique["column_names"][0] == "account_id", f"{table}: {unique['name']}"
            checked += 1
        assert checked >= 8  # sessions, shares, viewers, event_ids, tombstones, ...
    finally:
        engine.dispose()


def test_a_replica_that_does_not_answer_sends_reads_to_the_primary(api: Api) -> None:
    """A replica down is no outage: its reads go to the primary (checked once a second)."""
    if api.client.app.state.db.is_sqlite:  # type: ignore[attr-defined]
        pytest.skip("replica state is checked on PostgreSQL")
    primary: Database = api.client.app.state.db  # type: ignore[attr-defined]
    down = POSTGRES_ADMIN_URL.replace(":5432/", ":1/")  # nothing listens on port 1
    database = Database(primary.url, replica_urls=(down,))
    settings = Settings(database_url=primary.url, replica_urls=down)
    try:
        with TestClient(create_app(settings, database=database)) as client:
            other = Api(client, api.tenant)
            other.import_sessions(session_body("s-primary"))
            assert other.get("/ss/api/sessions/s-primary").status_code == 200
    finally:
        database.dispose()
