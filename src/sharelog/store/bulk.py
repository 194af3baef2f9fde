"""Set-at-a-time helpers shared by the store's writers and readers.

Each picks the cheapest form its backend has: PostgreSQL gets COPY and one
array parameter (``= ANY(%s)``), SQLite gets executemany and bounded IN lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import String

T = TypeVar("T")
# Bound parameters per IN list on SQLite: far below its limit, large enough to be cheap.
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def id_chunks(conn: Connection, ids: Sequence[str]) -> Iterator[Sequence[str]]:
    """The ids in as few lists as the backend takes at once: all of them for PostgreSQL."""
    if conn.dialect.name == "postgresql":
        if ids:
            yield ids
        return
    yield from chunked(ids)


def one_of(conn: Connection, column: Any, ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL one array parameter, which psycopg need not
    parse as hundreds of placeholders (that parsing was a third of a lookup)."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, value=list(ids), type_=postgresql.ARRAY(String)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]


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
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])
