"""The strong baseline of bench/usage.py: the bare driver, plain Python, chunked orjson.

No SQLAlchemy, no server: the window read by keyset a thousand sessions at a
time with the driver's own connection (sqlite3 or psycopg), each chunk's
shares and viewers' places in one statement each, merged in plain Python and
serialised with ``orjson.dumps`` chunk by chunk, as a streamed document is.
What a usage document costs at the least on this machine (issue 18).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from bench._common import Timer
from sharelog.store.usage_rows import location_sort_key
from sharelog.timestamps import format_timestamp

CHUNK = 1000


def _connect(url: str) -> tuple[Any, str]:
    if url.startswith("sqlite"):
        return sqlite3.connect(url.split("///", 1)[1]), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


def strong_baseline(url: str, account_id: int, from_us: int, to_us: int) -> tuple[int, float]:
    """(sessions, seconds) for the window ``from_us <= start < to_us``."""
    conn, m = _connect(url)
    sqlite = m == "?"
    any_of = "IN (SELECT value FROM json_each(?))" if sqlite else "= ANY(%s)"
    sessions_sql = (
        f"SELECT id, agent, start_us, end_us FROM sessions WHERE account_id = {m} "
        f"AND start_us >= {m} AND start_us < {m} AND (start_us > {m} OR id > {m}) "
        f"ORDER BY start_us, id LIMIT {CHUNK}"
    )
    shares_sql = (
        f"SELECT session_id, at_us, type, title, url FROM shares WHERE account_id = {m} "
        f"AND session_id {any_of} ORDER BY session_id, at_us, seq, event_id"
    )
    places_sql = (
        f"SELECT session_id, country, region, city, count(*) FROM viewers "
        f"WHERE account_id = {m} AND session_id {any_of} AND joined_us IS NOT NULL "
        f"GROUP BY session_id, country, region, city"
    )
    count, pieces = 0, 0
    with Timer() as t:
        cursor = conn.cursor()
        low, last_id = from_us, ""
        while True:
            cursor.execute(sessions_sql, (account_id, low, to_us, low, last_id))
            rows = cursor.fetchall()
            if not rows:
                break
            ids: Any = [r[0] for r in rows]
            ids = orjson.dumps(ids).decode() if sqlite else ids
            shares: dict[str, list[dict[str, Any]]] = {}
            cursor.execute(shares_sql, (account_id, ids))
            for sid, at, kind, title, url_ in cursor.fetchall():
                shares.setdefault(sid, []).append(
                    {"at": format_timestamp(at), "type": kind, "title": title, "url": url_}
                )
            places: dict[str, list[dict[str, Any]]] = {}
            cursor.execute(places_sql, (account_id, ids))
            for sid, country, region, city, n in cursor.fetchall():
                places.setdefault(sid, []).append(
                    {"country": country, "region": region, "city": city, "count": n}
                )
            chunk = []
            for sid, agent, start, end in rows:
                located = sorted(places.get(sid, []), key=location_sort_key)
                chunk.append(
                    {
                        "id": sid,
                        "agent": agent,
                        "start": format_timestamp(start),
                        "end": None if end is None else format_timestamp(end),
                        "duration": max(0, (end or start) - start) // 1_000_000,
                        "shares": shares.get(sid, []),
                        "viewers": {
                            "count": sum(g["count"] for g in located),
                            "locations": located,
                        },
                    }
                )
            pieces += len(orjson.dumps(chunk))
            count += len(rows)
            low, last_id = rows[-1][2], rows[-1][0]
            if len(rows) < CHUNK:
                break
        cursor.close()
    conn.close()
    assert pieces > 0 or count == 0
    return count, t.seconds
