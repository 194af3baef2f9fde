"""The initial schema: accounts, keys, agents, sessions, shares, viewers, event ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Key = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")
Email = sa.String(254).with_variant(sa.String(254, collation="C"), "postgresql")


def _tenant_fk(
    *cols: str, target: str = "accounts", remote: tuple[str, ...] = ("id",)
) -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        list(cols), [f"{target}.{c}" for c in remote], ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("prefix", sa.String(12), primary_key=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("revoked_us", sa.BigInteger, nullable=True),
        _tenant_fk("account_id"),
    )
    op.create_table(
        "agents",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("email", Email, primary_key=True),
        sa.Column("first_seen_us", sa.BigInteger, nullable=False),
        _tenant_fk("account_id"),
    )
    op.create_table(
        "sessions",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("agent", Email, nullable=True),
        sa.Column("start_us", sa.BigInteger, nullable=True),
        sa.Column("start_key", Key, nullable=True),
        sa.Column("end_us", sa.BigInteger, nullable=True),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        _tenant_fk("account_id"),
    )
    op.create_index("ix_sessions_account_start", "sessions", ["account_id", "start_us", "id"])
    op.create_index(
        "ix_sessions_account_agent_start", "sessions", ["account_id", "agent", "start_us"]
    )
    op.create_table(
        "shares",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("session_id", Key, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("event_id", Key, primary_key=True),
        sa.Column("at_us", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=True),
    )
    op.create_table(
        "viewers",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("session_id", Key, primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("joined_us", sa.BigInteger, nullable=True),
        sa.Column("last_join_us", sa.BigInteger, nullable=True),
        sa.Column("last_leave_us", sa.BigInteger, nullable=True),
        sa.Column("left_us", sa.BigInteger, nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("region", sa.Text, nullable=True),
        sa.Column("city", sa.Text, nullable=True),
        sa.Column("loc_at_us", sa.BigInteger, nullable=True),
        sa.Column("loc_key", Key, nullable=True),
        sa.Column("ip", sa.String(45), nullable=True),
    )
    op.create_table(
        "event_ids",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("id", Key, primary_key=True),
        sa.Column("session_id", Key, nullable=False),
        sa.Column("received_us", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("event_ids", "viewers", "shares", "sessions", "agents", "api_keys", "accounts"):
        op.drop_table(table)
