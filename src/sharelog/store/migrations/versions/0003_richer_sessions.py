"""Richer sessions: viewer marks and segments, peak viewers, webcam time, agent
names, parsed user agents, and whether a location came from an IP lookup.

A viewer stored before this revision gets one segment, from its joined to its
left (open when left is null), as its join and leave marks; each session's
peak is computed from those segments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from sharelog.store.segments import peak

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")
_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("agent_name", sa.Text, nullable=True))
        batch.add_column(sa.Column("peak", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("webcam_marks", sa.Text, nullable=True))
        batch.add_column(
            sa.Column("webcam_import_s", sa.BigInteger, nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("webcam_s", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("webcam_open_us", sa.BigInteger, nullable=True))
    with op.batch_alter_table("viewers") as batch:
        batch.add_column(
            sa.Column("loc_by_ip", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("marks", sa.Text, nullable=True))
        batch.add_column(sa.Column("segments", sa.Text, nullable=True))
        batch.add_column(sa.Column("browser", sa.Text, nullable=True))
        batch.add_column(sa.Column("os", sa.Text, nullable=True))
        batch.add_column(sa.Column("device", sa.String(8), nullable=True))
        batch.add_column(sa.Column("ua_at_us", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("ua_key", Key, nullable=True))
    _backfill()


def _backfill() -> None:
    """One segment per viewer (SQL, set at a time), then each session's peak."""
    conn = op.get_bind()
    j = "CAST(joined_us AS TEXT)"
    l_ = "CAST(left_us AS TEXT)"
    conn.execute(
        sa.text(
            "UPDATE viewers SET "
            f"marks = CASE WHEN left_us IS NULL THEN '[[' || {j} || ',\" 0000\",1]]' "
            f"ELSE '[[' || {j} || ',\" 0000\",1],[' || {l_} || ',\" 0001\",0]]' END, "
            f"segments = '[[' || {j} || ',' || COALESCE({l_}, 'null') || ']]' "
            "WHERE joined_us IS NOT NULL"
        )
    )
    # Peaks from those segments, with the code's own computation so that the
    # stored figures agree with what new writes store.
    rows = conn.execute(
        sa.text(
            "SELECT v.account_id, v.session_id, v.joined_us, v.left_us, s.end_us "
            "FROM viewers v JOIN sessions s ON s.account_id = v.account_id AND s.id = v.session_id "
            "WHERE v.joined_us IS NOT NULL"
        )
    ).fetchall()
    by_session: dict[tuple[int, str], list[list[tuple[int, int | None]]]] = defaultdict(list)
    ends: dict[tuple[int, str], int | None] = {}
    for account_id, session_id, joined, left, end in rows:
        by_session[(account_id, session_id)].append([(joined, left)])
        ends[(account_id, session_id)] = end
    updates = [
        {"a": key[0], "s": key[1], "p": peak(segments, ends[key])}
        for key, segments in by_session.items()
    ]
    for i in range(0, len(updates), _BATCH):
        conn.execute(
            sa.text("UPDATE sessions SET peak = :p WHERE account_id = :a AND id = :s"),
            updates[i : i + _BATCH],
        )


def downgrade() -> None:
    with op.batch_alter_table("viewers") as batch:
        for name in (
            "ua_key",
            "ua_at_us",
            "device",
            "os",
            "browser",
            "segments",
            "marks",
            "loc_by_ip",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("sessions") as batch:
        for name in (
            "webcam_open_us",
            "webcam_s",
            "webcam_import_s",
            "webcam_marks",
            "peak",
            "agent_name",
        ):
            batch.drop_column(name)
