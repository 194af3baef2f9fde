"""Webhooks out: endpoints, the outbox of messages, and the last use of each API key.

Revision ID: 0004
Revises: 0003 (re-chained after 0003 at merge)
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("last_used_us", sa.BigInteger, nullable=True))
    op.create_table(
        "webhook_endpoints",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=True),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("old_secret", sa.String(64), nullable=True),
        sa.Column("old_secret_until_us", sa.BigInteger, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.Column("delivered_us", sa.BigInteger, nullable=True),
        sa.Column("failing_since_us", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("endpoint_id", sa.String(32), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=True),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_us", sa.BigInteger, nullable=True),
        sa.Column("claim", sa.String(32), nullable=True),
        sa.Column("last_attempt_us", sa.BigInteger, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_webhook_messages_log",
        "webhook_messages",
        ["account_id", "endpoint_id", "created_us", "id"],
    )
    op.create_index(
        "ix_webhook_messages_due",
        "webhook_messages",
        ["account_id", "endpoint_id", "next_attempt_us"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_messages_due", "webhook_messages")
    op.drop_index("ix_webhook_messages_log", "webhook_messages")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_us")
