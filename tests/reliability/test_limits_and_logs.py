"""Rate limits per key and per failing address, and one JSON access line per request."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store.database import Database
from tests.conftest import Tenant, make_tenant
from tests.servers import ServerProcess


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    app = create_app(Settings(database_url=sqlite_db.url, rate_limit=5), database=sqlite_db)
    with TestClient(app) as client:
        headers = {"Authorization": f"Basic {tenant_on_sqlite.read_key}"}
        statuses = [client.get("/ss/api/usage", headers=headers).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        refused = client.get("/ss/api/usage", headers=headers)
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # Another key of the same account has its own budget.
        other = {"Authorization": f"Basic {tenant_on_sqlite.write_key}"}
        assert client.get("/ss/api/usage", headers=other).status_code == 200


def test_no_limit_by_default(sqlite_db: Database, tenant_on_sqlite: Tenant) -> None:
    with TestClient(create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)) as client:
        headers = {"Authorization": f"Basic {tenant_on_sqlite.read_key}"}
        assert {client.get("/healthz").status_code for _ in range(3)} == {200}
        assert {client.get("/ss/api/usage", headers=headers).status_code for _ in range(40)} == {
            200
        }


def test_failed_authentication_is_limited_per_address(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    settings = Settings(database_url=sqlite_db.url, auth_failures_per_minute=5)
    app = create_app(settings, database=sqlite_db)
    bad = {"Authorization": "Basic slk_guessguessguessguessguessguess00"}
    # Clients on this host are never limited: loopback, and a peer without an IP
    # address (Starlette's test client is "testclient"; a unix socket has none).
    for peer in ("127.0.0.1", "testclient"):
        with TestClient(app, client=(peer, 5000)) as local:
            assert {local.get("/ss/api/usage", headers=bad).status_code for _ in range(7)} == {401}
    with TestClient(app, client=("203.0.113.7", 5000)) as client:
        statuses = [client.get("/ss/api/usage", headers=bad).status_code for _ in range(7)]
        assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
        limited = client.get("/ss/api/usage", headers=bad)
        assert limited.status_code == 429 and "retry-after" in limited.headers
        # A valid key from the same address is never locked out (behind a balancer every
        # tenant may share one address).
        good = client.get(
            "/ss/api/usage", headers={"Authorization": f"Basic {tenant_on_sqlite.read_key}"}
        )
        assert good.status_code == 200


def test_forwarded_for_counts_only_from_a_trusted_proxy(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    settings = Settings(
        database_url=sqlite_db.url, auth_failures_per_minute=2, trusted_proxies="10.0.0.0/8"
    )
    app = create_app(settings, database=sqlite_db)
    bad = {"Authorization": "Basic slk_guessguessguessguessguessguess00"}

    def statuses(peer: str, forwarded: str, n: int) -> list[int]:
        with TestClient(app, client=(peer, 5000)) as client:
            headers = {**bad, "X-Forwarded-For": forwarded}
            return [client.get("/ss/api/usage", headers=headers).status_code for _ in range(n)]

    # Through the trusted balancer, each real client has its own count.
    assert statuses("10.1.1.1", "203.0.113.5", 3) == [401, 401, 429]
    assert statuses("10.1.1.1", "203.0.113.6, 10.2.2.2", 2) == [401, 401]
    # From an untrusted peer the header is ignored: the peer itself is counted.
    assert statuses("198.51.100.9", "203.0.113.7", 3) == [401, 401, 429]
    assert statuses("198.51.100.9", "203.0.113.8", 1) == [429]


def test_a_bad_trusted_proxies_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, nonsense")


def test_one_json_access_line_per_request_without_secrets(
    sqlite_db: Database, tenant_on_sqlite: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger="sharelog.access"):
        client.get(
            "/ss/api/usage?from=2026-11-01",
            headers={"Authorization": f"Basic {tenant_on_sqlite.read_key}"},
        )
        client.get(
            "/ss/api/sessions/nope",
            headers={"Authorization": f"Basic {tenant_on_sqlite.read_key}"},
        )
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "sharelog.access"]
    assert [(line["route"], line["status"]) for line in lines] == [
        ("/ss/api/usage", 200),
        ("/ss/api/sessions/{session_id}", 404),
    ]
    assert lines[0]["account_id"] == tenant_on_sqlite.account_id
    assert lines[0]["key_prefix"] == tenant_on_sqlite.read_key[:12]
    text = caplog.text
    assert tenant_on_sqlite.read_key not in text and "testclient" not in text
    assert all(line["duration_ms"] >= 0 for line in lines)


def test_metrics_count_requests_and_ingestion(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    app = create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)
    with TestClient(app, client=("127.0.0.1", 5000)) as client:
        headers = {"Authorization": f"Basic {tenant_on_sqlite.write_key}"}
        event = {"id": "e1", "type": "session.ended", "session": "s", "at": "2026-11-02"}
        client.post("/ss/api/events", json={"events": [event, event]}, headers=headers)
        text = client.get("/metrics").text
    assert (
        'sharelog_http_requests_total{method="POST",route="/ss/api/events",status="200"} 1' in text
    )
    assert "sharelog_events_accepted_total 1" in text
    assert "sharelog_events_duplicate_total 1" in text
    assert 'sharelog_http_request_duration_seconds_count{route="/ss/api/events"} 1' in text


def test_loopback_clients_are_not_locked_out(tmp_path: Path, sqlite_template: Path) -> None:
    """Behind a local reverse proxy every client is 127.0.0.1: failures there are not counted."""
    path = tmp_path / "loopback.db"
    shutil.copy(sqlite_template, path)
    server = ServerProcess(f"sqlite:///{path}", env={"SHARELOG_AUTH_FAILURES_PER_MINUTE": "3"})
    try:
        with httpx.Client(base_url=server.url) as http:
            statuses = {
                http.get("/ss/api/usage", headers={"Authorization": "Basic slk_bad"}).status_code
                for _ in range(10)
            }
        assert statuses == {401}
    finally:
        server.stop()


def test_metrics_need_the_token_or_a_loopback_client(
    sqlite_db: Database, tenant_on_sqlite: Tenant
) -> None:
    """Tenant volumes are not for anyone who can reach the API."""
    open_app = create_app(Settings(database_url=sqlite_db.url), database=sqlite_db)
    with TestClient(open_app, client=("203.0.113.9", 5000)) as remote:
        response = remote.get("/metrics")
        assert response.status_code == 403 and "sharelog_" not in response.text
    with TestClient(open_app, client=("::1", 5000)) as local:
        assert local.get("/metrics").status_code == 200
    with TestClient(open_app) as in_process:  # its peer is "testclient", no address
        assert in_process.get("/metrics").status_code == 200
    guarded = create_app(
        Settings(database_url=sqlite_db.url, metrics_token="s3cret"), database=sqlite_db
    )
    with TestClient(guarded, client=("127.0.0.1", 5000)) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        good = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200 and "sharelog_http_requests_total" in good.text


def test_metrics_add_up_across_worker_processes(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "workers.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    tenant = make_tenant(db, "acme")
    db.dispose()
    server = ServerProcess(f"sqlite:///{path}", "--workers", "2")
    try:
        headers = {"Authorization": f"Basic {tenant.read_key}"}
        for _ in range(40):  # new connections: spread over both workers
            assert httpx.get(f"{server.url}/ss/api/usage", headers=headers).status_code == 200
        totals = set()
        for _ in range(6):
            text = httpx.get(f"{server.url}/metrics").text
            line = next(
                x
                for x in text.splitlines()
                if x.startswith('sharelog_http_requests_total{method="GET",route="/ss/api/usage"')
            )
            totals.add(float(line.rsplit(" ", 1)[1]))
    finally:
        server.stop()
    # Whichever worker answered, it counted every worker's requests.
    assert totals == {40.0}
