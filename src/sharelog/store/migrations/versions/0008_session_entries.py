"""Entries written ahead for usage too: ``feed_entries`` becomes ``session_entries``
(each ended session's change-feed entry and its usage object), and
``accounts.feed_read_us`` becomes ``read_us`` (a read of the feed or of usage).

A usage page built each session from its shares and viewers, about 10 us a
session; with the session's usage object written ahead it takes its row and
the stored bytes (see sharelog/renderer.py). Entries are a cache of what the
rows say: the old table is dropped, not copied, and every account renders
again from its first position.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def _entries(name: str, *bodies: str) -> None:
    op.create_table(
        name,
        sa.Column("account_id", sa.Integer(), primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        *(sa.Column(body, sa.Text(), nullable=False) for body in bodies),
    )


def _start_again() -> None:
    op.execute("UPDATE accounts SET rendered_seq = 0, rendered_version = NULL")


def upgrade() -> None:
    op.drop_table("feed_entries")
    _entries("session_entries", "feed", "usage")
    # In place on both backends (SQLite since 3.25): never a copy of `accounts`,
    # whose drop would cascade into sessions and keys on SQLite.
    op.execute("ALTER TABLE accounts RENAME COLUMN feed_read_us TO read_us")
    _start_again()


def downgrade() -> None:
    op.drop_table("session_entries")
    _entries("feed_entries", "body")
    op.execute("ALTER TABLE accounts RENAME COLUMN read_us TO feed_read_us")
    _start_again()
