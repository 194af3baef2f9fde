"""`sharelog webhooks ...` and `keys create/revoke` against the database, audited as cli."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharelog.cli.main import app
from sharelog.store import audit
from sharelog.store.database import Database

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def sharelog(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, [*args, "--database-url", url], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def audit_entries(url: str, account_id: int) -> list[tuple[str, str, str]]:
    db = Database(url)
    with db.reading() as conn:
        found = [
            (e["key"], e["action"], e["target"])
            for e in audit.entries(conn, account_id, before_id=None, limit=50)
        ]
    db.dispose()
    return found


def test_keys_create_and_revoke_are_audited_as_cli(url: str) -> None:
    account = json.loads(sharelog(url, "accounts", "create", "acme", "--json"))
    key = json.loads(
        sharelog(url, "keys", "create", "--account", "acme", "--scope", "admin", "--json")
    )
    sharelog(url, "keys", "revoke", key["key"][:12])
    assert audit_entries(url, account["id"]) == [
        ("cli", "key.revoked", key["key"][:12]),
        ("cli", "key.created", key["key"][:12]),
    ]


def test_webhooks_create_list_replay_delete(url: str) -> None:
    account = json.loads(sharelog(url, "accounts", "create", "acme", "--json"))
    env = {"SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true"}
    created = json.loads(
        sharelog(
            url,
            "webhooks",
            "create",
            "http://127.0.0.1:9/hook",
            "--account",
            "acme",
            "--events",
            "session.ended,session.deleted",
            "--description",
            "CRM",
            env=env,
        )
    )
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["session.ended", "session.deleted"]
    listed = json.loads(sharelog(url, "webhooks", "list", "--account", "acme", "--json"))
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    assert "queued 0" in sharelog(
        url, "webhooks", "replay", created["id"], "--account", "acme", "--since", "2026-01-01"
    )
    sharelog(url, "webhooks", "delete", created["id"], "--account", "acme")
    assert json.loads(sharelog(url, "webhooks", "list", "--account", "acme", "--json")) == []
    assert audit_entries(url, account["id"]) == [
        ("cli", "webhook.deleted", created["id"]),
        ("cli", "webhook.created", created["id"]),
    ]


def test_webhooks_create_refuses_an_inside_url_without_the_setting(url: str) -> None:
    sharelog(url, "accounts", "create", "acme")
    result = runner.invoke(
        app,
        ["webhooks", "create", "http://127.0.0.1:9/", "--account", "acme", "--database-url", url],
        env={"SHARELOG_WEBHOOK_ALLOW_PRIVATE": "false"},
    )
    assert result.exit_code == 2 and "loopback" in result.output
