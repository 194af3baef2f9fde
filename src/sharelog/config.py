"""One settings object, read once from ``SHARELOG_*`` variables and flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sharelog.proxies import parse_networks
from sharelog.store.database import Limits

DEFAULT_DATABASE_URL = "sqlite:///sharelog.db"
STORE_IP_POLICIES = ("none", "truncated", "full")


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default; each is ``SHARELOG_<NAME>`` in the environment."""

    database_url: str = field(
        default=DEFAULT_DATABASE_URL,
        metadata={"help": "Database URL: sqlite:///FILE or postgresql://..."},
    )
    read_database_url: str = field(
        default="",
        metadata={
            "help": "One more read replica (kept for older setups): as one entry of "
            "SHARELOG_REPLICA_URLS."
        },
    )
    replica_urls: str = field(
        default="",
        metadata={
            "help": "Comma list of PostgreSQL standbys that serve reads (usage, sessions, daily, "
            "changes) while they lag less than SHARELOG_REPLICA_MAX_LAG_S; empty: all on the primary."
        },
    )
    replica_max_lag_s: float = field(
        default=5.0,
        metadata={"help": "Replay lag (seconds) beyond which a replica's reads go to the primary."},
    )
    redis_url: str = field(
        default="",
        metadata={
            "help": "redis://host:port/db shared by every process for the per-key rate limit; "
            "empty: each process counts on its own."
        },
    )
    host: str = field(default="127.0.0.1", metadata={"help": "Address `serve` listens on."})
    port: int = field(default=8000, metadata={"help": "Port `serve` listens on."})
    workers: int = field(default=1, metadata={"help": "Worker processes for `serve`."})
    max_body_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata={"help": "Largest request body accepted (413 above)."},
    )
    body_timeout_seconds: int = field(
        default=30,
        metadata={"help": "Seconds a request body may take to arrive (then 400)."},
    )
    sqlite_busy_timeout_ms: int = field(
        default=10_000,
        metadata={
            "help": "How long a SQLite writer waits for the writer lock (then 503 with Retry-After)."
        },
    )
    sqlite_mmap_bytes: int = field(
        default=0,
        metadata={
            "help": "How much of a SQLite file reads see through memory-mapped I/O (mmap_size), "
            "not copied into each connection's page cache; 0: none (the mapped pages count "
            "in the process's RSS)."
        },
    )
    pool_size: int = field(
        default=5,
        metadata={"help": "Connections a process opens at most (PostgreSQL; no overflow)."},
    )
    key_pool_size: int = field(
        default=2,
        metadata={"help": "Connections a process opens at most for API-key checks, besides."},
    )
    pool_timeout_seconds: int = field(
        default=10,
        metadata={"help": "How long a request waits for a free connection (then 503)."},
    )
    lock_timeout_ms: int = field(
        default=10_000,
        metadata={"help": "How long a PostgreSQL write waits for its account's lock (then 503)."},
    )
    statement_timeout_ms: int = field(
        default=30_000,
        metadata={"help": "PostgreSQL statement_timeout of sharelog's connections; 0: none."},
    )
    idle_in_transaction_timeout_ms: int = field(
        default=60_000,
        metadata={
            "help": "PostgreSQL idle_in_transaction_session_timeout of sharelog's connections; "
            "0: none."
        },
    )
    geoip_db: str = field(
        default="",
        metadata={"help": "Path of a city-level MMDB file; empty uses the built-in country data."},
    )
    store_ip: str = field(
        default="none",
        metadata={"help": "What is kept of a viewer's IP: none, truncated or full."},
    )
    rate_limit: int = field(
        default=0, metadata={"help": "Requests per minute per API key; 0 turns it off."}
    )
    auth_failures_per_minute: int = field(
        default=60,
        metadata={
            "help": "Failed authentications a client address may make a minute (then 429); "
            "clients on this host (loopback, a unix socket, in process) are exempt."
        },
    )
    trusted_proxies: str = field(
        default="",
        metadata={
            "help": "Comma list of CIDRs whose X-Forwarded-For is believed (a balancer in front); "
            "empty: none"
        },
    )
    log_level: str = field(default="info", metadata={"help": "Log level of the server."})
    metrics_token: str = field(
        default="",
        metadata={
            "help": "Bearer token that /metrics requires; empty: /metrics answers clients "
            "on this host only (loopback, a unix socket, in process)"
        },
    )
    secret_key: str = field(
        default="",
        metadata={
            "help": "Secret that signs cursors and change tokens (the same in every process); "
            "empty: one generated once and kept in the database."
        },
    )
    secret_key_previous: str = field(
        default="",
        metadata={"help": "A former secret key whose tokens are still accepted (rotation)."},
    )
    tombstone_days: int = field(
        default=30,
        metadata={"help": "Days deletions stay in the change feed; an older position is 410 gone."},
    )
    retention_days: int = field(
        default=0,
        metadata={
            "help": "Retention of new accounts in days (sessions older are deleted); 0 keeps all."
        },
    )
    retention_interval_seconds: int = field(
        default=3600,
        metadata={"help": "Seconds between two retention sweeps of a running server."},
    )
    deliver: bool = field(
        default=True,
        metadata={"help": "`serve` also sends webhooks (`--no-deliver` turns it off)."},
    )
    session_entries: bool = field(
        default=True,
        metadata={
            "help": "Write ended sessions' change-feed entries and usage objects ahead, "
            "in a background thread, each for the accounts that read it lately "
            "(their answers then send them as they are)."
        },
    )
    webhook_allow_private: bool = field(
        default=False,
        metadata={
            "help": "Allow webhook URLs on loopback, private, link-local and other "
            "non-public addresses (for tests and closed networks)."
        },
    )
    webhook_concurrency: int = field(
        default=64, metadata={"help": "Webhook requests in flight per sender process."}
    )
    webhook_endpoint_concurrency: int = field(
        default=8, metadata={"help": "Webhook requests in flight to one endpoint per sender."}
    )
    webhook_lease_seconds: int = field(
        default=60,
        metadata={
            "help": "How long a sender's claim on a message lasts: after a crash, its claimed "
            "messages are sent again this much later (at least 20, above the 15 s timeout)."
        },
    )

    def __post_init__(self) -> None:
        parse_networks(self.trusted_proxies)  # raises ValueError naming a bad CIDR
        if self.store_ip not in STORE_IP_POLICIES:
            raise ValueError(
                f"SHARELOG_STORE_IP must be one of {', '.join(STORE_IP_POLICIES)}, got {self.store_ip!r}"
            )
        for name in (
            "port",
            "workers",
            "max_body_bytes",
            "pool_size",
            "key_pool_size",
            "pool_timeout_seconds",
            "auth_failures_per_minute",
            "body_timeout_seconds",
            "webhook_concurrency",
            "webhook_endpoint_concurrency",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"SHARELOG_{name.upper()} must be at least 1")
        if self.tombstone_days < 0 or self.retention_days < 0:
            raise ValueError(
                "SHARELOG_TOMBSTONE_DAYS and SHARELOG_RETENTION_DAYS must be 0 or more"
            )
        if self.retention_interval_seconds < 1:
            raise ValueError("SHARELOG_RETENTION_INTERVAL_SECONDS must be at least 1")
        if self.webhook_lease_seconds < 20:
            raise ValueError("SHARELOG_WEBHOOK_LEASE_SECONDS must be at least 20")
        if not self.replica_max_lag_s > 0:
            raise ValueError("SHARELOG_REPLICA_MAX_LAG_S must be more than 0")
        if self.rate_limit < 0:
            raise ValueError("SHARELOG_RATE_LIMIT must be 0 (off) or more")
        for name in (
            "sqlite_busy_timeout_ms",
            "sqlite_mmap_bytes",
            "lock_timeout_ms",
            "statement_timeout_ms",
            "idle_in_transaction_timeout_ms",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"SHARELOG_{name.upper()} must be 0 or more")

    def database_limits(self) -> Limits:
        return Limits(
            pool_size=self.pool_size,
            key_pool_size=self.key_pool_size,
            pool_timeout_seconds=self.pool_timeout_seconds,
            busy_timeout_ms=self.sqlite_busy_timeout_ms,
            sqlite_mmap_bytes=self.sqlite_mmap_bytes,
            lock_timeout_ms=self.lock_timeout_ms,
            statement_timeout_ms=self.statement_timeout_ms,
            idle_in_transaction_timeout_ms=self.idle_in_transaction_timeout_ms,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``SHARELOG_*`` variables, then the non-None ``overrides`` (flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"SHARELOG_{f.name.upper()}")
            if raw is None and f.name in RENAMED:
                raw = env.get(f"SHARELOG_{RENAMED[f.name].upper()}")
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def replica_url_list(self) -> tuple[str, ...]:
        return tuple(u.strip() for u in self.replica_urls.split(",") if u.strip())

    def with_overrides(self, **overrides: Any) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


# Settings under their earlier names, still read when the new one is not set.
RENAMED = {"session_entries": "feed_entries"}


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):  # before int: a bool is an int
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"SHARELOG_{name.upper()} must be true or false, got {raw!r}")
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"SHARELOG_{name.upper()} must be a number, got {raw!r}") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"SHARELOG_{name.upper()} must be an integer, got {raw!r}") from None
    return raw


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, help) of every setting, for the README and `--help`."""
    return [
        (f"SHARELOG_{f.name.upper()}", str(f.default), f.metadata.get("help", ""))
        for f in fields(Settings)
    ]
