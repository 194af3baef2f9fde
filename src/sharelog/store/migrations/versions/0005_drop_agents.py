"""Drop the ``agents`` table: written by every import and events request, read by
nothing. An account's agents are the ``agent`` values of its sessions (usage's
``per_agent``, the ``agent`` filter, erasure all read those), and each session
keeps its own ``agent_name``; erasing an agent deletes its sessions, and with
them every trace of the agent the database holds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Email = sa.String(254).with_variant(sa.String(254, collation="C"), "postgresql")


def upgrade() -> None:
    op.drop_table("agents")


def downgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("account_id", sa.Integer, primary_key=True),
        sa.Column("email", Email, primary_key=True),
        sa.Column("first_seen_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    )
    # What the table held, as near as the sessions still tell it: each agent
    # with a session, first seen when its earliest such session was written.
    op.execute(
        "INSERT INTO agents (account_id, email, first_seen_us) "
        "SELECT account_id, agent, min(updated_us) FROM sessions "
        "WHERE agent IS NOT NULL GROUP BY account_id, agent"
    )
