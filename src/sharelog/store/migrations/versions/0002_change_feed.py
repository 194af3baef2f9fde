"""The change feed and administration: positions, tombstones, retention, audit, secrets,
and where a ``sharelog sync`` copy stands.

Existing sessions get positions 1..N per account in the order of their start,
so a feed read from the beginning lists every session the account has.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def upgrade() -> None:
    # An all-digit account name read as an id on the command line (--account 7 found the
    # account *named* "7" before account 7): such names are refused now and renamed here.
    bind = op.get_bind()
    for account_id, name in bind.execute(sa.text("SELECT id, name FROM accounts")).all():
        if name.isascii() and name.isdigit():
            bind.execute(
                sa.text("UPDATE accounts SET name = :new WHERE id = :id"),
                {"new": f"account-{name}", "id": account_id},
            )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("pruned_seq", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("retention_days", sa.Integer, nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("changed_us", sa.BigInteger, nullable=True))
    op.execute(
        "UPDATE sessions SET seq = numbered.n, changed_us = sessions.updated_us "
        "FROM (SELECT account_id, id, ROW_NUMBER() OVER "
        "(PARTITION BY account_id ORDER BY start_us, id) AS n FROM sessions) AS numbered "
        "WHERE numbered.account_id = sessions.account_id AND numbered.id = sessions.id"
    )
    op.execute(
        "UPDATE accounts SET last_seq = "
        "(SELECT COALESCE(MAX(seq), 0) FROM sessions WHERE sessions.account_id = accounts.id)"
    )
    op.create_index("ix_sessions_account_seq", "sessions", ["account_id", "seq"])
    op.create_table(
        "tombstones",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("deleted_us", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tombstones_account_seq", "tombstones", ["account_id", "seq"])
    op.create_table(
        "audit_log",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "sync_state",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("position", sa.Text, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "server_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_settings")
    op.drop_table("sync_state")
    op.drop_table("audit_log")
    op.drop_index("ix_tombstones_account_seq", "tombstones")
    op.drop_table("tombstones")
    op.drop_index("ix_sessions_account_seq", "sessions")
    # Columns dropped in place, never by a copy of the table: on SQLite, dropping
    # the original `accounts` (or `sessions`) would delete every row that
    # references it (ON DELETE CASCADE). SQLite drops a column in place since 3.35.
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.drop_column("changed_us")
        batch.drop_column("seq")
    with op.batch_alter_table("accounts", recreate="never") as batch:
        batch.drop_column("retention_days")
        batch.drop_column("pruned_seq")
        batch.drop_column("last_seq")
