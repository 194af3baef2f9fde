"""`sharelog db`, `accounts`, `keys` and `demo`, run as a user would, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from sharelog.api import create_app
from sharelog.cli.main import app
from sharelog.config import Settings
from sharelog.store import accounts as account_store
from sharelog.store import migrate
from sharelog.store.database import Database

runner = CliRunner()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def sharelog(url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database-url", url])
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_brings_a_new_file_to_the_head_revision(url: str) -> None:
    sharelog(url, "db", "upgrade")
    db = Database(url)
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    db.dispose()


def test_accounts_and_keys_as_json(url: str) -> None:
    account = json.loads(sharelog(url, "accounts", "create", "acme", "--json"))
    assert account == {"id": account["id"], "name": "acme"}
    by_name = json.loads(
        sharelog(url, "keys", "create", "--account", "acme", "--scope", "write", "--json")
    )
    by_id = json.loads(
        sharelog(
            url, "keys", "create", "--account", str(account["id"]), "--scope", "read", "--json"
        )
    )
    assert by_name["scope"] == "write" and by_id["scope"] == "read"
    assert by_name["account"] == by_id["account"] == account["id"]
    for created in (by_name, by_id):
        assert created["key"].startswith("slk_") and len(created["key"]) >= 4 + 22


def test_a_duplicate_account_name_is_refused(url: str) -> None:
    sharelog(url, "accounts", "create", "acme")
    result = runner.invoke(app, ["accounts", "create", "acme", "--database-url", url])
    assert result.exit_code != 0
    assert "exists" in result.output


def test_keys_list_shows_only_the_display_prefix_and_revoke_works_at_once(url: str) -> None:
    sharelog(url, "accounts", "create", "acme")
    key = json.loads(
        sharelog(url, "keys", "create", "--account", "acme", "--scope", "read", "--json")
    )["key"]
    listing = sharelog(url, "keys", "list", "--account", "acme")
    assert key[:12] in listing
    assert key not in listing

    settings = Settings(database_url=url)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Basic {key}"}
        assert client.get("/ss/api/usage", headers=headers).status_code == 200
        sharelog(url, "keys", "revoke", key[:12])
        assert client.get("/ss/api/usage", headers=headers).status_code == 401
    db = Database(url)
    with db.reading() as conn:
        [info] = account_store.list_keys(conn)
    db.dispose()
    assert info.prefix == key[:12] and info.revoked_us is not None


def test_keys_are_stored_only_as_hashes(url: str, tmp_path: Path) -> None:
    sharelog(url, "accounts", "create", "acme")
    key = json.loads(
        sharelog(url, "keys", "create", "--account", "acme", "--scope", "read", "--json")
    )["key"]
    raw = (tmp_path / "cli.db").read_bytes()
    wal = tmp_path / "cli.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert key.encode() not in raw
    assert key[12:].encode() not in raw


def test_demo_fills_an_account_and_prints_a_working_read_key(url: str) -> None:
    output = sharelog(url, "demo", "--sessions", "150")
    key = next(word for word in output.split() if word.startswith("slk_"))
    db = Database(url)
    with db.reading() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar_one()
        agents = conn.execute(text("SELECT COUNT(DISTINCT agent) FROM sessions")).scalar_one()
        countries = conn.execute(text("SELECT COUNT(DISTINCT country) FROM viewers")).scalar_one()
    db.dispose()
    assert count == 150
    assert agents >= 10 and countries >= 5
    with TestClient(create_app(Settings(database_url=url))) as client:
        response = client.get(
            "/ss/api/usage",
            params={"from": "2020-01-01", "include": "stats"},
            headers={"Authorization": f"Basic {key}"},
        )
    assert response.status_code == 200
    assert response.json()["stats"]["total"]["meetings"] == 150


def test_keys_list_piped_is_one_tab_separated_line_a_key(url: str) -> None:
    name = "a-company-with-a-long-name-that-would-wrap-a-table-column"
    sharelog(url, "accounts", "create", name)
    key = json.loads(
        sharelog(url, "keys", "create", "--account", name, "--scope", "write", "--json")
    )["key"]
    header, line = sharelog(url, "keys", "list").splitlines()
    assert header.split("\t") == ["prefix", "scope", "account", "created", "revoked"]
    prefix, scope, account, created, revoked = line.split("\t")
    assert (prefix, scope, account, revoked) == (key[:12], "write", f"{name} (1)", "")
    assert created.endswith("Z")


def test_an_all_digit_account_name_is_refused(url: str) -> None:
    result = runner.invoke(app, ["accounts", "create", "7", "--database-url", url])
    assert result.exit_code == 2 and "digits" in result.output
    created = json.loads(sharelog(url, "accounts", "create", "acme", "--json"))
    # So --account with digits always means an id.
    key = json.loads(
        sharelog(
            url, "keys", "create", "--account", str(created["id"]), "--scope", "read", "--json"
        )
    )
    assert key["account"] == created["id"]


def test_the_upgrade_renames_all_digit_accounts(url: str) -> None:
    db = Database(url)
    migrate.upgrade(db.engine, "0001")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO accounts (name, created_us) VALUES ('42', 0), ('4x2', 0)"))
    migrate.upgrade(db.engine)
    with db.engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM accounts")).scalars())
    db.dispose()
    assert names == {"account-42", "4x2"}


# The contract's Account administration: "Every action of this section is also a
# ``sharelog`` command run against the database, recorded in the audit log as ``cli``".


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


def test_a_new_demo_account_gets_the_default_retention(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARELOG_RETENTION_DAYS", "400")
    sharelog(url, "demo", "--sessions", "5")
    assert json.loads(sharelog(url, "accounts", "show", "demo", "--json"))["retention_days"] == 400
