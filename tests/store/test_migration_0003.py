"""Migration 0003 on a database of revision 0001 that holds data: one segment per
viewer, each session's peak, and a schema equal to ``store/schema.py``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database
from sharelog.store.schema import metadata
from tests.conftest import Api, make_tenant

S = 1_000_000
T0 = 1_793_613_600 * S  # 2026-11-02T10:00:00Z


def test_an_old_database_upgrades_with_segments_and_peaks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = migrate._config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.commit()
        conn.execute(text("INSERT INTO accounts (id, name, created_us) VALUES (1, 'old', 0)"))
        conn.execute(
            text(
                "INSERT INTO sessions (account_id, id, agent, start_us, start_key, end_us, updated_us) "
                "VALUES (1, 's-1', 'a@example.com', :t, '', :end, 0)"
            ),
            {"t": T0, "end": T0 + 1800 * S},
        )
        for vid, joined, left in (
            ("a", T0 + 60 * S, T0 + 600 * S),
            ("b", T0 + 600 * S, None),  # joins as a leaves: never two at once
            ("c", T0 + 900 * S, T0 + 960 * S),
        ):
            conn.execute(
                text(
                    "INSERT INTO viewers (account_id, session_id, id, joined_us, last_join_us, "
                    "last_leave_us, left_us) VALUES (1, 's-1', :id, :j, :j, :l, :l)"
                ),
                {"id": vid, "j": joined, "l": left},
            )
        conn.commit()
    engine.dispose()

    db = Database(url)
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    tenant = make_tenant(db, "reader")
    with db.writing() as conn:
        # The old account's rows, read through a key of its own.
        conn.execute(text("UPDATE api_keys SET account_id = 1"))
    app = create_app(Settings(database_url=url), database=db)
    with TestClient(app) as client:
        api = Api(client, tenant)
        session = api.get("/ss/api/sessions/s-1").json()
        assert session["viewers"]["peak"] == 2  # b with c
        segments = {v["id"]: v["segments"] for v in session["viewers"]["list"]}
        assert segments == {
            "a": [{"joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:10:00Z"}],
            "b": [{"joined": "2026-11-02T10:10:00Z", "left": None}],
            "c": [{"joined": "2026-11-02T10:15:00Z", "left": "2026-11-02T10:16:00Z"}],
        }
        # New events merge with the migrated marks.
        response = api.post(
            "/ss/api/events",
            json={
                "events": [
                    {
                        "id": "e1",
                        "type": "viewer.left",
                        "session": "s-1",
                        "at": T0 // S + 1000,
                        "viewer": "b",
                    },
                    {
                        "id": "e2",
                        "type": "viewer.joined",
                        "session": "s-1",
                        "at": T0 // S + 1000,
                        "viewer": "a",
                    },
                ]
            },
        )
        assert response.status_code == 200, response.text
        session = api.get("/ss/api/sessions/s-1").json()
        segments = {v["id"]: v["segments"] for v in session["viewers"]["list"]}
        assert segments["b"] == [{"joined": "2026-11-02T10:10:00Z", "left": "2026-11-02T10:16:40Z"}]
        assert len(segments["a"]) == 2
    db.dispose()
