"""Each agent's running totals on its sessions' rows: usage's stats of any window in
two index seeks an agent, not a pass over the window (``store/running_totals.py``).

``sessions.run_meetings`` and ``run_seconds`` hold, for a session with an agent
and a start, the meetings and ended seconds of the agent's sessions up to and
including it in ``(start_us, id)`` order (plus an offset of the agent's, which
differences cancel). Triggers on ``sessions`` note in ``totals_stale`` the
earliest start from which an agent's totals no longer hold; the writing
transaction settles them before it commits. ``ix_sessions_account_agent_start``
gains ``id``, the order the totals run in.

SQLite only: the columns and the table are on both backends (one schema), but
PostgreSQL's stay empty and its stats stay an aggregate. There, row triggers
(PL/pgSQL, 30 us a row) and the totals' second write of rows the transaction
had inserted (each rechecks its foreign key) cost event ingestion 40% in
alternating runs, where the aggregate they replace was 20 against 16 ms over
70,000 sessions (docs/performance.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Email = sa.String(254).with_variant(sa.String(254, collation="C"), "postgresql")

# The whole seconds a session's row adds: an ended one's floor(end - start), never
# negative; one still going on adds none (its seconds run on with the clock).
OWN_SECONDS = (
    "CASE WHEN {r}.end_us > {r}.start_us THEN ({r}.end_us - {r}.start_us) / 1000000 ELSE 0 END"
)

_SQLITE_MARK = (
    "INSERT INTO totals_stale (account_id, agent, from_us) "
    "SELECT {r}.account_id, {r}.agent, {r}.start_us "
    "WHERE {r}.agent IS NOT NULL AND {r}.start_us IS NOT NULL "
    "ON CONFLICT (account_id, agent) DO UPDATE SET from_us = min(from_us, excluded.from_us);"
)
# A deleted session that no session of its agent precedes leaves the totals of the
# others as they were, offset by its own: differences are unchanged, so the
# retention sweep (oldest first) costs no settling.
_PRECEDED = (
    "EXISTS (SELECT 1 FROM sessions p WHERE p.account_id = OLD.account_id "
    "AND p.agent = OLD.agent AND (p.start_us < OLD.start_us "
    "OR (p.start_us = OLD.start_us AND p.id < OLD.id)))"
)
_CHANGED = (
    "OLD.agent IS NOT NEW.agent OR OLD.start_us IS NOT NEW.start_us OR OLD.end_us IS NOT NEW.end_us"
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER sessions_totals_insert AFTER INSERT ON sessions "
    "WHEN NEW.agent IS NOT NULL AND NEW.start_us IS NOT NULL "
    f"BEGIN {_SQLITE_MARK.format(r='NEW')} END",
    "CREATE TRIGGER sessions_totals_update AFTER UPDATE OF agent, start_us, end_us ON sessions "
    f"WHEN {_CHANGED} "
    f"BEGIN {_SQLITE_MARK.format(r='OLD')} {_SQLITE_MARK.format(r='NEW')} END",
    "CREATE TRIGGER sessions_totals_delete AFTER DELETE ON sessions "
    f"WHEN OLD.agent IS NOT NULL AND OLD.start_us IS NOT NULL AND {_PRECEDED} "
    f"BEGIN {_SQLITE_MARK.format(r='OLD')} END",
)

# Every agent's totals from its first session.
_BACKFILL = (
    "UPDATE sessions SET run_meetings = w.m, run_seconds = w.s FROM ("
    "SELECT account_id AS a, id AS i, count(*) OVER win AS m, "
    f"sum({OWN_SECONDS.format(r='sessions')}) OVER win AS s FROM sessions "
    "WHERE agent IS NOT NULL AND start_us IS NOT NULL "
    "WINDOW win AS (PARTITION BY account_id, agent ORDER BY start_us, id "
    "ROWS UNBOUNDED PRECEDING)) AS w "
    "WHERE sessions.account_id = w.a AND sessions.id = w.i"
)


def upgrade() -> None:
    op.create_table(
        "totals_stale",
        sa.Column("account_id", sa.Integer(), primary_key=True),
        sa.Column("agent", Email, primary_key=True),
        sa.Column("from_us", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.add_column(sa.Column("run_meetings", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("run_seconds", sa.BigInteger(), nullable=True))
    op.drop_index("ix_sessions_account_agent_start", table_name="sessions")
    op.create_index(
        "ix_sessions_account_agent_start", "sessions", ["account_id", "agent", "start_us", "id"]
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_BACKFILL)
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER sessions_totals_{trigger}")
    op.drop_index("ix_sessions_account_agent_start", table_name="sessions")
    op.create_index(
        "ix_sessions_account_agent_start", "sessions", ["account_id", "agent", "start_us"]
    )
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.drop_column("run_seconds")
        batch.drop_column("run_meetings")
    op.drop_table("totals_stale")
