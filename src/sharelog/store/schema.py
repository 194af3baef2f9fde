"""The tables, in SQLAlchemy Core. The Alembic migrations create exactly these.

Every tenant table's primary key and every index start with ``account_id``, so
that one account's rows sit together and the schema can be distributed by it
unchanged. Instants are BIGINT microseconds since the epoch (``*_us``): exact,
and identical on SQLite and PostgreSQL.

Sessions are kept in a merged form that events can update in any order: the
start with the key that won it (``start_key``), each viewer's earliest and
latest join and latest leave. See ``sharelog.store.events``.

The high-volume child tables (shares, viewers, event ids) carry no foreign
key, neither to their session nor to their account: the store writes a session
before its children and deletes them together, and every row's account is the
authenticated key's. On PostgreSQL the per-row check of such a key is a
trigger: 9.5 us a row, which made the account check alone 60% of an event
batch's claim of its ids (EXPLAIN ANALYZE of that INSERT). Sessions and keys
keep theirs.

An account's agents are the ``agent`` values of its sessions. ``agent_totals``
holds a row for each, written where the running totals are settled and
removed with the agent's last session: a summary the stats read, never a
list kept apart (migration 0005 dropped the one that was written and never read).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    text,
)

metadata = MetaData()

# Ids and emails sort by code point on both backends (PostgreSQL's default
# collation would not), so ordering by id is the same everywhere.
Key = String(128).with_variant(String(128, collation="C"), "postgresql")
Email = String(254).with_variant(String(254, collation="C"), "postgresql")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_us", BigInteger, nullable=False),
    # The change feed's counter: the largest seq handed out (see store/positions.py).
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    # The largest seq of a tombstone pruned: a feed position before it is gone (410).
    Column("pruned_seq", BigInteger, nullable=False, server_default="0"),
    # Sessions whose start is older than this many days are swept; null keeps all.
    Column("retention_days", Integer, nullable=True),
    # How far the sessions' entries are written (sharelog.renderer): every ended
    # session changed at or before this position has had its entries made.
    Column("rendered_seq", BigInteger, nullable=False, server_default="0"),
    # The code that rendered up to there: other code starts again from 0.
    Column("rendered_version", String(16), nullable=True),
    # When the account last read its change feed, and its usage, to the minute:
    # only what an account reads has its entries written ahead.
    Column("feed_read_us", BigInteger, nullable=True),
    Column("usage_read_us", BigInteger, nullable=True),
    # Which entries the rendering up to rendered_seq made (session_entries.Bodies).
    Column("rendered_bodies", SmallInteger, nullable=False, server_default="0"),
)

# Looked up by hash before the account is known, so the hash is unique on its own;
# a small table, a reference table when distributed.
api_keys = Table(
    "api_keys",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("prefix", String(12), primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scope", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger, nullable=True),
    # The minute of the key's latest use (written at most once a minute).
    Column("last_used_us", BigInteger, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", Key, primary_key=True),
    # Null until a session.started has arrived: such a session is not in usage.
    Column("agent", Email, nullable=True),
    Column("start_us", BigInteger, nullable=True),
    # The event id that set the start; "" for an import, which wins ties.
    Column("start_key", Key, nullable=True),
    Column("end_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    # The change feed's position of the session's latest change, and its instant.
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("changed_us", BigInteger, nullable=True),
    # The agent's name last received (session.started or an import).
    Column("agent_name", Text, nullable=True),
    # Computed when written (sharelog.store.segments): the most viewers at once,
    # and the webcam's marks, closed whole seconds and open segment's start.
    Column("peak", Integer, nullable=False, server_default="0"),
    Column("webcam_marks", Text, nullable=True),
    Column("webcam_import_s", BigInteger, nullable=False, server_default="0"),
    Column("webcam_s", BigInteger, nullable=False, server_default="0"),
    Column("webcam_open_us", BigInteger, nullable=True),
    # The agent's running totals up to this session (store/running_totals.py).
    Column("run_meetings", BigInteger, nullable=True),
    Column("run_seconds", BigInteger, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    Index("ix_sessions_account_start", "account_id", "start_us", "id"),
    Index("ix_sessions_account_agent_start", "account_id", "agent", "start_us", "id"),
    Index("ix_sessions_account_seq", "account_id", "seq"),
    # The sessions still going on (a few per account): whether a window holds
    # one decides whether its answer can have an ETag (sharelog.api.conditional),
    # asked on every conditional request without walking the window.
    Index(
        "ix_sessions_account_ongoing",
        "account_id",
        "start_us",
        sqlite_where=text("end_us IS NULL"),
        postgresql_where=text("end_us IS NULL"),
    ),
)

# The agents whose running totals no longer hold from ``from_us`` on: noted by
# triggers on sessions, settled before the writing transaction commits.
totals_stale = Table(
    "totals_stale",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("agent", Email, primary_key=True),
    Column("from_us", BigInteger, nullable=False),
)

# Each agent's last session in ``(start_us, id)`` order: its start and running
# totals, written where the totals are settled (``store/running_totals.py``).
# SQLite only: empty on PostgreSQL.
agent_totals = Table(
    "agent_totals",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("agent", Email, primary_key=True),
    Column("last_start_us", BigInteger, nullable=False),
    Column("run_meetings", BigInteger, nullable=True),
    Column("run_seconds", BigInteger, nullable=True),
    sqlite_with_rowid=False,
)

# An ended session's entries, as JSON: its change feed ``session`` object
# (``feed``) and its usage object (``usage``), written after the session's
# write by sharelog.renderer: used while its seq is the session's and its
# version the running code's, else built afresh. Each is null when the
# account did not read that kind of answer when the entry was made.
session_entries = Table(
    "session_entries",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", Key, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("version", String(16), nullable=False),
    Column("feed", Text, nullable=True),
    Column("usage", Text, nullable=True),
)

# Deleted sessions, for the change feed: one row per id, at its latest deletion.
# A row whose id has since started again is stale and is not listed.
tombstones = Table(
    "tombstones",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", Key, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("deleted_us", BigInteger, nullable=False),
    Index("ix_tombstones_account_seq", "account_id", "seq"),
)

# What was done with admin rights (and by the CLI, key "cli"), per account.
audit_log = Table(
    "audit_log",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", BigInteger, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("key_prefix", String(12), nullable=False),
    Column("action", String(40), nullable=False),
    Column("target", Text, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
)

# Where ``sharelog sync`` stands for a local account that copies a server's:
# written in the same transaction as the changes it applied.
sync_state = Table(
    "sync_state",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("position", Text, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
)

# Deployment-wide values kept in the database, such as the generated secret
# that signs cursors and change tokens when SHARELOG_SECRET_KEY is not set.
server_settings = Table(
    "server_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

shares = Table(
    "shares",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("session_id", Key, primary_key=True),
    # Imported shares: their array index and event_id "". Shares from events:
    # seq EVENT_SHARE_SEQ and their event id. Ordered by (at_us, seq, event_id).
    Column("seq", Integer, primary_key=True),
    Column("event_id", Key, primary_key=True),
    Column("at_us", BigInteger, nullable=False),
    Column("type", String(8), nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=True),
)

EVENT_SHARE_SEQ = 1_000_000

viewers = Table(
    "viewers",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("session_id", Key, primary_key=True),
    Column("id", Key, primary_key=True),
    # Earliest join; null while only a viewer.left has arrived (not counted).
    Column("joined_us", BigInteger, nullable=True),
    Column("last_join_us", BigInteger, nullable=True),
    Column("last_leave_us", BigInteger, nullable=True),
    # Derived: last_leave_us when not before last_join_us, else null.
    Column("left_us", BigInteger, nullable=True),
    Column("country", String(2), nullable=True),
    Column("region", Text, nullable=True),
    Column("city", Text, nullable=True),
    # Which join gave the location: its instant and event id ("" for an import).
    Column("loc_at_us", BigInteger, nullable=True),
    Column("loc_key", Key, nullable=True),
    Column("ip", String(45), nullable=True),
    # True when the location came from looking the ip up (approximate).
    Column("loc_by_ip", Boolean, nullable=False, server_default=false()),
    # Every join and leave as JSON marks, and the segments they give (JSON).
    Column("marks", Text, nullable=True),
    Column("segments", Text, nullable=True),
    # The parsed user agent of the earliest (at, event id) join that carried one.
    Column("browser", Text, nullable=True),
    Column("os", Text, nullable=True),
    Column("device", String(8), nullable=True),
    Column("ua_at_us", BigInteger, nullable=True),
    Column("ua_key", Key, nullable=True),
)

# Ids of accepted events, kept for idempotency even when an import has since
# replaced the session they belonged to.
event_ids = Table(
    "event_ids",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", Key, primary_key=True),
    Column("session_id", Key, nullable=False),
    Column("received_us", BigInteger, nullable=False),
)

# Where an account's webhooks go (see sharelog.webhooks). ``secret`` signs every
# message; after a rotation ``old_secret`` signs as well until ``old_secret_until_us``.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    # Comma-joined message types, or "*" for all.
    Column("events", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("enabled", Boolean(create_constraint=False), nullable=False),
    Column("disabled_reason", Text, nullable=True),
    Column("secret", String(64), nullable=False),
    Column("old_secret", String(64), nullable=True),
    Column("old_secret_until_us", BigInteger, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    # The latest delivery, and the first failure since then (for the 5-day rule).
    Column("delivered_us", BigInteger, nullable=True),
    Column("failing_since_us", BigInteger, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
)

# The outbox: one row per message per endpoint, written in the transaction of
# the change that made it. ``next_attempt_us`` is set exactly while the message
# is pending; a sender claims a due message by moving it a lease ahead and
# writing its ``claim`` token, so that no two senders make the same attempt.
webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("endpoint_id", String(32), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("seq", BigInteger, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_us", BigInteger, nullable=True),
    Column("claim", String(32), nullable=True),
    Column("last_attempt_us", BigInteger, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_webhook_messages_log", "account_id", "endpoint_id", "created_us", "id"),
    Index("ix_webhook_messages_due", "account_id", "endpoint_id", "next_attempt_us"),
)
