"""SHARELOG_REDIS_URL: one per-key limit for every process, and no outage when Redis is down.

Needs the Redis at 127.0.0.1:6379 (skipped without it, failed under CI=true).
Two apps stand for two processes: they share nothing but Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store.database import Database
from tests.conftest import Tenant

REDIS_URL = os.environ.get("SHARELOG_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Redis is missing: {exc}", pytrace=False)
        pytest.skip(f"no Redis at {REDIS_URL}")
    yield REDIS_URL
    client.close()


def _statuses(client: TestClient, key: str, n: int) -> list[int]:
    headers = {"Authorization": f"Basic {key}"}
    return [client.get("/ss/api/usage", headers=headers).status_code for _ in range(n)]


def test_two_processes_share_one_limit(db: Database, tenant: Tenant, redis_url: str) -> None:
    # Keys are random: buckets of earlier runs (same Redis) are other names.
    settings = Settings(database_url=db.url, rate_limit=10, redis_url=redis_url)
    with (
        TestClient(create_app(settings, database=db), raise_server_exceptions=False) as one,
        TestClient(create_app(settings, database=db), raise_server_exceptions=False) as two,
    ):
        first = _statuses(one, tenant.read_key, 6)
        second = _statuses(two, tenant.read_key, 6)
    statuses = first + second
    # 10 a minute in bursts of 10: per process each would have let all 12 through.
    assert statuses.count(429) == 2, statuses
    assert statuses[-1] == 429


def test_redis_down_lets_requests_through_and_counts_it(
    db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=db.url, rate_limit=1, redis_url="redis://127.0.0.1:1/0")
    app = create_app(settings, database=db)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 5000)) as client:
        assert set(_statuses(client, tenant.read_key, 3)) == {200}
        metrics = client.get("/metrics").text
    assert "sharelog_ratelimit_redis_errors_total 3" in metrics
    assert "Redis unavailable" in caplog.text
