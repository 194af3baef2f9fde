"""Statements on the driver's own cursor, for the hot paths: plain tuples in and out.

Through SQLAlchemy a statement costs 15-25 us of Python even as plain SQL
(``exec_driver_sql``), and about 130 us built as a Core statement; on the
driver's cursor 3-5 us. An events request runs a dozen statements, and on
SQLite that overhead was a tenth of its time. A driver error is raised as
SQLAlchemy's own (OperationalError and its kin), as ``conn.execute`` would,
so the API's handlers map it the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Row = tuple[Any, ...]


def _listened(conn: Connection) -> bool:
    # Something listens to the engine's statements (a test counting them,
    # tracing): such statements go through SQLAlchemy, so that it sees them too.
    return bool(conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute)


def _translated(conn: Connection, sql: str, exc: Exception) -> Exception:
    return DBAPIError.instance(
        sql, None, exc, conn.dialect.loaded_dbapi.Error, hide_parameters=True
    )


@contextmanager
def _cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """The driver's cursor on this connection's transaction, closed after; a driver
    error raised as SQLAlchemy's own."""
    cursor = conn.connection.cursor()
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _translated(conn, sql, exc) from exc
    finally:
        cursor.close()


def fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    """Every row of ``sql`` as plain tuples, on this connection's transaction."""
    if _listened(conn):
        return list(conn.exec_driver_sql(sql, tuple(params)).all())
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        rows: list[Row] = cursor.fetchall()  # a list with both drivers
        return rows


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """``sql`` once, its rows (if any) not wanted."""
    if _listened(conn):
        conn.exec_driver_sql(sql, tuple(params))
        return
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """``sql`` once for each row of parameters (the driver's executemany)."""
    if not rows:
        return
    if _listened(conn):
        conn.exec_driver_sql(sql, [tuple(r) for r in rows])
        return
    with _cursor(conn, sql) as cursor:
        cursor.executemany(sql, rows)
