"""Apply pending Alembic migrations, once, even when several processes start together."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant: the key of the PostgreSQL advisory lock that serialises upgrades.
_ADVISORY_LOCK_KEY = 0x5348_4C47


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


@cache
def cached_head_revision() -> str | None:
    """The head, read from the migration files once (readiness asks it on every check)."""
    return head_revision()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to the newest schema (or to ``revision``); a no-op when it is there.

    On PostgreSQL everything happens in one transaction that first takes a
    transaction-level advisory lock: a second process waits there, then finds
    nothing left to do. Transaction-level, not session-level, so it holds
    through PgBouncer in transaction mode too (a session lock there would be
    taken on one server connection and released on another).
    """
    config = _config()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Building an index on a large table may take longer than requests may.
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        # Alembic runs in the transaction already begun (it begins none of its own).
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
