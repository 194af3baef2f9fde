"""An event batch reads the viewers it names, not every viewer of their sessions,
and the peak it stores is still the one all the viewers give."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from sharelog.store.database import Database
from tests.conftest import Api

MANY = 600
START = "2026-11-02T10:00:00Z"


def minute(m: int) -> str:
    return f"2026-11-02T10:{m:02d}:00Z"


@contextmanager
def viewer_reads(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every read of the viewers table run while the block is open, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "viewers" in statement:
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def rows_read(db: Database, reads: list[tuple[str, Any]]) -> int:
    """How many rows those reads give when run again (nothing they read has changed
    since, except the rows the batch wrote, which they gave the first time too)."""
    with db.engine.connect() as conn:
        return sum(len(conn.exec_driver_sql(sql, params).all()) for sql, params in reads)


def import_crowd(api: Api) -> None:
    """MANY viewers who all watch from minute 1 to minute 20: the peak is MANY."""
    viewers = [{"id": f"v-{i}", "joined": minute(1), "left": minute(20)} for i in range(MANY)]
    api.import_sessions(
        {"id": "s-1", "agent": "a@example.com", "start": START, "end": None, "viewers": viewers}
    )


def post(api: Api, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post("/ss/api/events", json={"events": events})
    assert response.status_code == 200, response.text
    return response.json()


def viewer_event(eid: str, kind: str, viewer: str, at: str) -> dict[str, Any]:
    return {"id": eid, "type": f"viewer.{kind}", "session": "s-1", "at": at, "viewer": viewer}


def test_a_batch_reads_only_the_viewers_it_names(api: Api, db: Database) -> None:
    import_crowd(api)
    with viewer_reads(db) as reads:
        # One known viewer leaves early, a new one joins: both change the segments,
        # so the peak has to be found again.
        post(
            api,
            [
                viewer_event("e1", "left", "v-0", minute(5)),
                viewer_event("e2", "joined", "new", minute(2)),
            ],
        )
    # A row per viewer named, and a few one-row aggregates (a count, the peak):
    # nowhere near the session's MANY viewers.
    assert rows_read(db, reads) <= 10
    detail = api.get("/ss/api/sessions/s-1").json()
    # v-0 still watched from 1 to 5 with everyone, and "new" joined at 2.
    assert detail["viewers"]["peak"] == MANY + 1
    assert detail["viewers"]["count"] == MANY + 1


def test_the_stored_peak_falls_and_rises_with_batches_that_name_one_viewer(
    api: Api, db: Database
) -> None:
    import_crowd(api)
    # v-0's leave at the instant of its join empties its only segment.
    post(api, [viewer_event("z", "left", "v-0", minute(1))])
    assert api.get("/ss/api/sessions/s-1").json()["viewers"]["peak"] == MANY - 1
    # Back at minute 15, it watches until its imported leave at 20 with everyone.
    post(api, [viewer_event("y", "joined", "v-0", minute(15))])
    assert api.get("/ss/api/sessions/s-1").json()["viewers"]["peak"] == MANY
