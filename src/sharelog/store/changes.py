"""Reading the change feed: sessions and tombstones after a position, in ``seq`` order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, exists, select

from sharelog.store.details import details_of
from sharelog.store.schema import accounts, sessions, tombstones
from sharelog.store.usage_sql import feed_rows
from sharelog.timestamps import format_timestamp_us


class PositionGone(LookupError):
    """A position from before tombstones that have since been pruned."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    changes: list[dict[str, Any]]
    next_seq: int
    has_more: bool
    # The account's latest position in the same snapshot (a long poll waits past it).
    latest_seq: int


def read_changes(
    conn: Connection,
    account_id: int,
    since: int,
    limit: int,
    now_us: int,
    *,
    stored: str | None = None,
) -> FeedPage:
    """Each session whose latest ``seq`` is after ``since``, once, at that ``seq``.

    Sessions not yet in usage (no start) are left out until they are; a
    tombstone is left out once its id has started again (its session is then
    listed at a later ``seq``). Raises PositionGone for a pruned position.
    ``stored``: the code version whose stored entries (``sharelog.renderer``)
    may stand for a session, as JSON to embed (``orjson.Fragment``), not a dict.
    """
    positions = conn.execute(
        select(accounts.c.pruned_seq, accounts.c.last_seq).where(accounts.c.id == account_id)
    ).first()
    pruned, latest = (int(positions[0]), int(positions[1])) if positions else (0, 0)
    # At 0 a client holds nothing, so no deletion it missed can matter.
    if 0 < since < pruned:
        raise PositionGone(since)
    # The sessions' own columns come with their positions: no second read by id.
    live = feed_rows(conn, account_id, since, limit + 1, stored)
    restarted = exists().where(
        sessions.c.account_id == tombstones.c.account_id,
        sessions.c.id == tombstones.c.id,
        sessions.c.start_us.is_not(None),
    )
    dead = conn.execute(
        select(tombstones.c.id, tombstones.c.seq, tombstones.c.deleted_us)
        .where(tombstones.c.account_id == account_id, tombstones.c.seq > since, ~restarted)
        .order_by(tombstones.c.seq)
        .limit(limit + 1)
    ).all()
    merged = sorted(
        [(int(r[0]), r[2], r[1], True) for r in live]
        + [(int(r.seq), r.id, r.deleted_us, False) for r in dead]
    )
    page = merged[:limit]
    on_page = {sid for _, sid, _, alive in page if alive}
    # An entry stands for an ended session only: an ongoing one's runs to now.
    kept = {r[2]: r[-1] for r in live if r[-1] is not None and r[5] is not None}
    details: dict[str, Any] = details_of(
        conn,
        account_id,
        [r[2:-1] for r in live if r[2] in on_page and r[2] not in kept],
        now_us,
        format_timestamp_us,
    )
    for sid, body in kept.items():
        details[sid] = orjson.Fragment(body)
    changes = [
        {
            "seq": seq,
            "change": "updated" if alive else "deleted",
            "changed": format_timestamp_us(int(changed_us or 0)),
            "id": sid,
            "session": details[sid] if alive else None,
        }
        for seq, sid, changed_us, alive in page
    ]
    return FeedPage(
        changes=changes,
        next_seq=page[-1][0] if page else since,
        has_more=len(merged) > limit,
        latest_seq=latest,
    )
