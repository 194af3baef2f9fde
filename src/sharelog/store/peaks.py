"""Peak viewers of stored sessions, computed by the database from the stored segments.

An event batch reads only the viewers it names, yet a session's peak depends
on all of its viewers: once the batch has written its viewers, the database
replays every segment boundary of the stale sessions (``viewers.segments``,
never whole rows) and hands back one number per session. The rule is
``segments.peak``'s, step for step:

- a closed segment ``[joined, left)`` is a +1 at ``joined`` and a -1 at ``left``;
- an open one runs to the session's end, and without an end it never stops
  (a +1 alone);
- an empty one (``left <= joined``) counts nothing;
- the steps are summed in ``(instant, step)`` order, so a leave counts before
  a join at the same instant, and the peak is the largest running sum (0 when
  there are none).

tests/store/test_peaks.py holds the two to the same answers on generated segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, text

from sharelog.store.driver import fetch

# The stale sessions as (id, end_us) rows, and each stored segment with the
# instant it stops (its leave, else the session's end, else null: never).
_SQLITE_SEGMENTS = """
stale(id, end_us) AS (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)
),
seg(sid, joined, stop) AS (
    SELECT v.session_id, json_extract(s.value, '$[0]'),
           coalesce(json_extract(s.value, '$[1]'), stale.end_us)
    FROM stale
    JOIN viewers v ON v.account_id = ? AND v.session_id = stale.id,
         json_each(v.segments) s
)"""

_POSTGRES_SEGMENTS = """
stale(id, end_us) AS (
    SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:ends AS bigint[]))
),
seg(sid, joined, stop) AS (
    SELECT v.session_id, CAST(s.value ->> 0 AS bigint),
           coalesce(CAST(s.value ->> 1 AS bigint), stale.end_us)
    FROM stale
    JOIN viewers v ON v.account_id = :account AND v.session_id = stale.id
    CROSS JOIN LATERAL json_array_elements(CAST(v.segments AS json)) AS s(value)
)"""

_PEAKS = """
WITH {segments},
steps(sid, at_us, step) AS (
    SELECT sid, joined, 1 FROM seg WHERE stop IS NULL OR stop > joined
    UNION ALL
    SELECT sid, stop, -1 FROM seg WHERE stop > joined
),
running(sid, watching) AS (
    SELECT sid, sum(step) OVER (PARTITION BY sid ORDER BY at_us, step ROWS UNBOUNDED PRECEDING)
    FROM steps
)
SELECT sid, max(watching) FROM running GROUP BY sid
"""

# On the driver's cursor (store/driver.py), the parameters in the order they appear.
_SQLITE = _PEAKS.format(segments=_SQLITE_SEGMENTS)
_POSTGRES = text(_PEAKS.format(segments=_POSTGRES_SEGMENTS))


def stored_peaks(conn: Connection, account_id: int, ends: dict[str, int | None]) -> dict[str, int]:
    """The peak of each of these sessions over its stored viewers' segments, open
    ones running to the session's end given here (None: ongoing)."""
    if not ends:
        return {}
    rows: Sequence[Any]
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            _POSTGRES, {"account": account_id, "ids": list(ends), "ends": list(ends.values())}
        ).all()
    else:
        stale = orjson.dumps([[sid, end] for sid, end in ends.items()]).decode()
        rows = fetch(conn, _SQLITE, (stale, account_id))
    found = {sid: int(peak) for sid, peak in rows}
    return {sid: found.get(sid, 0) for sid in ends}
