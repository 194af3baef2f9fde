"""Admin keys and helpers for the webhook tests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.conftest import Tenant

# Names the tests resolve themselves (no DNS here): what a hostile or a good DNS would say.
NAMES = {
    "public.example": ["93.184.216.34"],
    "inside.example": ["10.1.2.3"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "mapped.example": ["::ffff:192.168.1.1"],
    "receiver.test": ["127.0.0.1"],
}


def fake_resolver(host: str, port: int) -> list[str]:
    if host in NAMES:
        return NAMES[host]
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    raise OSError(f"unknown name {host}")


class Admin:
    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def create(self, url: str, events: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        response = self.request(
            "POST", "/ss/api/webhooks", json={"url": url, "events": events or ["*"], **extra}
        )
        assert response.status_code == 201, response.text
        return response.json()


def admin_key(db: Database, account_id: int) -> str:
    with db.writing() as conn:
        return account_store.create_key(conn, account_id, Scope.ADMIN, now_us())


@pytest.fixture
def admin(client: TestClient, db: Database, tenant: Tenant) -> Admin:
    client.app.state.webhook_resolver = fake_resolver  # type: ignore[attr-defined]
    return Admin(client, admin_key(db, tenant.account_id))
