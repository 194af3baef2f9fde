"""A streamed answer whose first read fails is an error answer, not a 200 cut short:
nothing, not even the CSV header, is sent before the first chunk has been read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from sharelog.store.database import Database
from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z"}


@pytest.fixture
def shares_gone(db: Database, api: Api) -> Iterator[None]:
    """A real failure of the first chunk's second statement: its table is away."""
    api.import_sessions(session_body("s-1"), session_body("s-2"))
    with db.writing() as conn:
        conn.execute(text("ALTER TABLE shares RENAME TO shares_away"))
    try:
        yield
    finally:
        with db.writing() as conn:
            conn.execute(text("ALTER TABLE shares_away RENAME TO shares"))


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ss/api/usage", {"format": "csv"}),
        ("/ss/api/usage", {"format": "ndjson"}),
        ("/ss/api/usage", {}),
        ("/ss/api/usage_new", {}),
    ],
)
def test_a_failed_first_read_is_an_error_answer(
    api: Api, shares_gone: None, path: str, params: dict[str, str]
) -> None:
    response = api.get(path, params={**WINDOW, **params})
    assert response.status_code in (500, 503), response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "error" in response.json()
    assert b"id,agent" not in response.content


def test_the_same_exports_answer_once_the_table_is_back(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    response = api.get("/ss/api/usage", params={**WINDOW, "format": "csv"})
    assert response.status_code == 200
    assert response.text.startswith("id,agent")
    assert "s-1" in response.text
