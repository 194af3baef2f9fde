"""The usage read path's own cursor: what it reads, and how its errors surface."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from sharelog.store.database import Database
from sharelog.store.driver import fetch


def test_rows_are_plain_tuples(db: Database) -> None:
    with db.reading() as conn:
        assert fetch(conn, "SELECT 1, 'a'", ()) == [(1, "a")]


def test_a_driver_error_is_sqlalchemys_so_the_api_answers_503(db: Database) -> None:
    # OperationalError is what the API's handlers turn into 503 unavailable.
    with pytest.raises(OperationalError), db.reading() as conn:
        if db.is_sqlite:
            fetch(conn, "SELECT * FROM no_such_table", ())
        else:
            conn.exec_driver_sql("SET LOCAL statement_timeout = 1")
            fetch(conn, "SELECT pg_sleep(1)", ())
