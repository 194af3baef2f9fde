"""Set-at-a-time helpers shared by the store's writers and readers.

Each picks the cheapest form its backend has: PostgreSQL gets COPY and one
array parameter (``= ANY(%s)``); SQLite gets executemany and one JSON array
parameter unpacked by ``json_each``.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import String

from sharelog.store.driver import execute_many


def one_of(conn: Connection, column: Any, ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ids`` with the ids in one parameter: a PostgreSQL array, or a
    JSON array that SQLite unpacks with json_each. Expanding hundreds of
    placeholders cost a third of a lookup on both backends."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, value=list(ids), type_=postgresql.ARRAY(String)))  # type: ignore[no-any-return]
    values: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, value=orjson.dumps(list(ids)).decode(), type_=String))
    )
    return column.in_(values)  # type: ignore[no-any-return]


def insert_ignoring_conflicts(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows, skipping any whose primary key is already there."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows (all with the same keys) the fastest way the backend has.

    PostgreSQL gets COPY: psycopg's executemany sends one statement per row,
    and COPY made a 5,000-session import 4x faster (bench/usage.py data load).
    Column names come from our own code, never from a request.
    """
    if not rows:
        return
    columns = list(rows[0])
    values = itemgetter(*columns)  # C-speed; a tuple per row (needs two columns or more)
    insert_tuples(conn, table, columns, list(map(values, rows)))


def insert_tuples(
    conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``bulk_insert`` of rows already made tuples of ``columns``' values."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        # The driver's executemany with plain tuples: SQLAlchemy's per-row
        # parameter processing was half the cost of an event batch's inserts.
        placeholders = ", ".join("?" for _ in columns)
        execute_many(
            conn, f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})", rows
        )
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def upsert(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    keys: Sequence[str],
    changing: Sequence[str],
) -> None:
    """INSERT rows; where a row with the same ``keys`` exists, set its ``changing`` columns."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: statement.excluded[name] for name in changing},
        ),
        rows,
    )
