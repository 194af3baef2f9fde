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
batch's claim of its ids (EXPLAIN ANALYZE of that INSERT). Sessions, agents
and keys keep theirs.
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
    String,
    Table,
    Text,
    false,
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
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
)

agents = Table(
    "agents",
    metadata,
    Column("account_id", Integer, primary_key=True),
    Column("email", Email, primary_key=True),
    Column("first_seen_us", BigInteger, nullable=False),
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
    # The agent's name last received (session.started or an import).
    Column("agent_name", Text, nullable=True),
    # Computed when written (sharelog.store.segments): the most viewers at once,
    # and the webcam's marks, closed whole seconds and open segment's start.
    Column("peak", Integer, nullable=False, server_default="0"),
    Column("webcam_marks", Text, nullable=True),
    Column("webcam_import_s", BigInteger, nullable=False, server_default="0"),
    Column("webcam_s", BigInteger, nullable=False, server_default="0"),
    Column("webcam_open_us", BigInteger, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
    Index("ix_sessions_account_start", "account_id", "start_us", "id"),
    Index("ix_sessions_account_agent_start", "account_id", "agent", "start_us"),
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
