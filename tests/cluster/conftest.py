"""One deployment for the cluster tests: ``deploy/cluster.sh`` up before, down after.

PostgreSQL primary and synchronous hot standby, three ``sharelog serve`` behind
HAProxy, rate limits shared through Redis. Ports from 17100 (``make cluster``
uses 17000, so both can run at once).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "deploy" / "cluster.sh"
BASE = int(os.environ.get("SHARELOG_TEST_CLUSTER_BASE", "17100"))
RATE_LIMIT = 600  # a minute per key: bursts of 600, then 10 a second
MAX_LAG_S = 5  # the default; reads in the test must come well within it


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.env["CLUSTER_URL"]

    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{BASE + i}" for i in range(1, int(self.env["CLUSTER_APIS"]) + 1)]

    def node(self, port_name: str) -> Engine:
        """An autocommit engine on one node (PRIMARY_PORT or STANDBY_PORT)."""
        port = self.env[port_name]
        return create_engine(
            f"postgresql+psycopg://postgres@127.0.0.1:{port}/sharelog",
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3},
        )

    def run(self, action: str) -> None:
        subprocess.run([str(SCRIPT), action, str(self.directory)], check=True, env=_env())

    def keys(self, name: str) -> tuple[int, str, str]:
        """A new account: (id, read key, write key), written through the primary."""
        db = Database(self.env["SHARELOG_DATABASE_URL"])
        try:
            with db.writing() as conn:
                account = account_store.create_account(conn, name, now_us())
                read = account_store.create_key(conn, account.id, Scope.READ, now_us())
                write = account_store.create_key(conn, account.id, Scope.WRITE, now_us())
        finally:
            db.dispose()
        return account.id, read, write


def _env() -> dict[str, str]:
    # Only this deployment's settings reach the API processes.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARELOG_")}
    env.update(
        CLUSTER_BASE=str(BASE),
        SHARELOG_RATE_LIMIT=str(RATE_LIMIT),
        SHARELOG_REPLICA_MAX_LAG_S=str(MAX_LAG_S),
        SHARELOG_LOG_LEVEL="warning",
    )
    return env


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    directory = Path(f"/tmp/sharelog-cluster-test-{BASE}")
    try:
        subprocess.run([str(SCRIPT), "up", str(directory)], check=True, env=_env(), timeout=300)
        env = dict(
            line.split("=", 1)
            for line in shlex.split((directory / "env").read_text(), posix=True)
            if "=" in line
        )
        yield Cluster(directory, env)
    finally:
        subprocess.run([str(SCRIPT), "down", str(directory)], env=_env(), timeout=120)
        assert not directory.exists()
