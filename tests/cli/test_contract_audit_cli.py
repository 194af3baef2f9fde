"""Contract audit: "Every action of this section [Account administration] is also a
``sharelog`` command run against the database, recorded in the audit log as ``cli``"
(GET/PATCH /ss/api/account and GET /ss/api/audit had no command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sharelog.cli.main import app

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def sharelog(url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_accounts_show_answers_what_get_account_does(url: str) -> None:
    created = json.loads(sharelog(url, "accounts", "create", "acme", "--json"))
    shown = json.loads(sharelog(url, "accounts", "show", "acme", "--json"))
    assert set(shown) == {"id", "name", "created", "retention_days"}
    assert shown["id"] == created["id"] and shown["name"] == "acme"
    assert shown["retention_days"] is None
    assert shown["created"].endswith("Z")
    assert json.loads(sharelog(url, "accounts", "show", str(created["id"]), "--json")) == shown


def test_accounts_update_sets_retention_and_is_audited_as_cli(url: str) -> None:
    sharelog(url, "accounts", "create", "acme")
    updated = json.loads(
        sharelog(url, "accounts", "update", "acme", "--retention-days", "365", "--json")
    )
    assert updated["retention_days"] == 365
    assert json.loads(sharelog(url, "accounts", "show", "acme", "--json"))["retention_days"] == 365
    cleared = json.loads(
        sharelog(url, "accounts", "update", "acme", "--retention-days", "none", "--json")
    )
    assert cleared["retention_days"] is None
    entries = json.loads(sharelog(url, "audit", "list", "--account", "acme", "--json"))
    assert [(e["key"], e["action"], e["target"]) for e in entries] == [
        ("cli", "account.updated", "retention_days=null"),
        ("cli", "account.updated", "retention_days=365"),
    ]
    assert all(set(e) == {"at", "key", "action", "target"} for e in entries)


@pytest.mark.parametrize("days", ["0", "36501", "-1", "1.5", "forever"])
def test_accounts_update_refuses_a_bad_retention_and_writes_nothing(url: str, days: str) -> None:
    sharelog(url, "accounts", "create", "acme")
    result = runner.invoke(
        app, ["accounts", "update", "acme", "--retention-days", days, "--database-url", url]
    )
    assert result.exit_code != 0
    assert json.loads(sharelog(url, "accounts", "show", "acme", "--json"))["retention_days"] is None
    assert json.loads(sharelog(url, "audit", "list", "--account", "acme", "--json")) == []


def test_an_unknown_account_fails_clearly(url: str) -> None:
    sharelog(url, "db", "upgrade")
    for args in (
        ["accounts", "show", "nobody"],
        ["accounts", "update", "nobody", "--retention-days", "30"],
        ["audit", "list", "--account", "nobody"],
    ):
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 2
        assert "no account" in result.output
