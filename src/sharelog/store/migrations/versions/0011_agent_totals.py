"""Each agent's totals at its last session, a row an agent: usage's stats read the
account's agents and, for a window reaching past an agent's last session (most
windows), their totals at its end from one small table, not a loose index scan
and a seek an agent (``store/running_totals.py``).

``agent_totals`` holds the agent's last session's start and running totals in
``(start_us, id)`` order. The writing transaction writes it where it settles
the totals, for every agent it noted stale. So that an agent whose last
session goes leaves no row (erasure names nothing but its audit entry), the
delete trigger now also notes an agent's only session: the one no session
precedes was not noted, since the others' totals stay as they were.

SQLite only, as migration 0010: on PostgreSQL the table stays empty.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Email = sa.String(254).with_variant(sa.String(254, collation="C"), "postgresql")

_MARK = (
    "INSERT INTO totals_stale (account_id, agent, from_us) "
    "SELECT OLD.account_id, OLD.agent, OLD.start_us "
    "WHERE OLD.agent IS NOT NULL AND OLD.start_us IS NOT NULL "
    "ON CONFLICT (account_id, agent) DO UPDATE SET from_us = min(from_us, excluded.from_us);"
)
_PRECEDED = (
    "EXISTS (SELECT 1 FROM sessions p WHERE p.account_id = OLD.account_id "
    "AND p.agent = OLD.agent AND (p.start_us < OLD.start_us "
    "OR (p.start_us = OLD.start_us AND p.id < OLD.id)))"
)
_LEFT = (
    "EXISTS (SELECT 1 FROM sessions p WHERE p.account_id = OLD.account_id AND p.agent = OLD.agent)"
)
_KNOWN = "OLD.agent IS NOT NULL AND OLD.start_us IS NOT NULL"


def _delete_trigger(when: str) -> str:
    return (
        f"CREATE TRIGGER sessions_totals_delete AFTER DELETE ON sessions "
        f"WHEN {_KNOWN} AND ({when}) BEGIN {_MARK} END"
    )


# Each agent's last session, as the table holds it.
_BACKFILL = (
    "INSERT INTO agent_totals (account_id, agent, last_start_us, run_meetings, run_seconds) "
    "SELECT account_id, agent, start_us, run_meetings, run_seconds "
    "FROM (SELECT account_id, agent, start_us, run_meetings, run_seconds, row_number() OVER "
    "(PARTITION BY account_id, agent ORDER BY start_us DESC, id DESC) AS r FROM sessions "
    "WHERE agent IS NOT NULL AND start_us IS NOT NULL) WHERE r = 1"
)


def upgrade() -> None:
    op.create_table(
        "agent_totals",
        sa.Column("account_id", sa.Integer(), primary_key=True),
        sa.Column("agent", Email, primary_key=True),
        sa.Column("last_start_us", sa.BigInteger(), nullable=False),
        sa.Column("run_meetings", sa.BigInteger(), nullable=True),
        sa.Column("run_seconds", sa.BigInteger(), nullable=True),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_BACKFILL)
        op.execute("DROP TRIGGER sessions_totals_delete")
        op.execute(_delete_trigger(f"{_PRECEDED} OR NOT {_LEFT}"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER sessions_totals_delete")
        op.execute(_delete_trigger(_PRECEDED))
    op.drop_table("agent_totals")
