"""Entries written for what an account reads: a read of the feed and a read of usage
are recorded apart (``accounts.read_us`` becomes ``feed_read_us``, beside a new
``usage_read_us``), and ``rendered_bodies`` says which of a session's two
entries the account's rendering makes.

An account that only reads usage (the dashboard, an export) had every ended
session's feed entry written too, 2.4 times the bytes of its usage object,
never read. ``session_entries``' bodies become nullable: an entry nobody reads
is not written. The table is a cache of what the rows say: dropped, not
copied, and every account renders again from its first position. An account's
earlier read counts as both until it reads again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def _entries(*, nullable: bool) -> None:
    op.create_table(
        "session_entries",
        sa.Column("account_id", sa.Integer(), primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("feed", sa.Text(), nullable=nullable),
        sa.Column("usage", sa.Text(), nullable=nullable),
    )


def _start_again() -> None:
    op.execute("UPDATE accounts SET rendered_seq = 0, rendered_version = NULL")


def upgrade() -> None:
    op.drop_table("session_entries")
    _entries(nullable=True)
    # Columns renamed and added in place on both backends: a copy of `accounts`
    # would cascade into sessions and keys on SQLite when the original is dropped.
    op.execute("ALTER TABLE accounts RENAME COLUMN read_us TO feed_read_us")
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.add_column(sa.Column("usage_read_us", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("rendered_bodies", sa.SmallInteger(), nullable=False, server_default="0")
        )
    op.execute("UPDATE accounts SET usage_read_us = feed_read_us")
    _start_again()


def downgrade() -> None:
    op.drop_table("session_entries")
    _entries(nullable=False)
    op.execute(
        "UPDATE accounts SET feed_read_us = usage_read_us "
        "WHERE usage_read_us IS NOT NULL "
        "AND (feed_read_us IS NULL OR feed_read_us < usage_read_us)"
    )
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("rendered_bodies")
        batch.drop_column("usage_read_us")
    op.execute("ALTER TABLE accounts RENAME COLUMN feed_read_us TO read_us")
    _start_again()
