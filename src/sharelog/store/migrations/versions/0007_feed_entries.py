"""The change feed's entries, written ahead: ``feed_entries``, and on ``accounts``
``rendered_seq``, ``rendered_version`` and ``feed_read_us``.

A feed page built every session from its rows (shares, viewers, segments) on
every request: 2.4 times the bytes of a usage session, about 30 us a session
of the server's time. An ended session's entry is now written once after its
change, by a background renderer, and sent as it is (see sharelog/feed_entries.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("rendered_seq", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column("accounts", sa.Column("rendered_version", sa.String(16), nullable=True))
    op.add_column("accounts", sa.Column("feed_read_us", sa.BigInteger(), nullable=True))
    op.create_table(
        "feed_entries",
        sa.Column("account_id", sa.Integer(), primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_entries")
    # Never a copy of `accounts` on SQLite: dropping the original would delete
    # every row that references it (ON DELETE CASCADE), sessions and keys with
    # them. SQLite drops a column in place since 3.35.
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("feed_read_us")
        batch.drop_column("rendered_version")
        batch.drop_column("rendered_seq")
