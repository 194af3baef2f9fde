"""Index the sessions still going on: ``ix_sessions_account_ongoing``, partial on
``end_us IS NULL``. A conditional GET asks whether its window holds such a
session (its answer then changes with every second and gets no ETag); the
index answers from the few ongoing rows instead of the whole window.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_sessions_account_ongoing",
        "sessions",
        ["account_id", "start_us"],
        sqlite_where=sa.text("end_us IS NULL"),
        postgresql_where=sa.text("end_us IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sessions_account_ongoing", table_name="sessions")
