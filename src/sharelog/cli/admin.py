"""``sharelog db``, ``accounts`` and ``keys``: operating a server's database."""

from __future__ import annotations

import sys

import typer
from rich.table import Table
from sqlalchemy.exc import IntegrityError

from sharelog.administration import account_json, audit_entry_json
from sharelog.cli.context import (
    DatabaseOption,
    console,
    fail,
    open_database,
    print_json,
    settings,
)
from sharelog.domain import Account, Scope
from sharelog.limits import MAX_RETENTION_DAYS
from sharelog.store import accounts as account_store
from sharelog.store import audit, migrate
from sharelog.store.accounts import DISPLAY_PREFIX_LENGTH
from sharelog.store.audit import CLI_ACTOR
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp, now_us

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
accounts_app = typer.Typer(help="Accounts (companies).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log of administration.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(database_url: str | None = DatabaseOption) -> None:
    """Apply pending migrations."""
    db = open_database(database_url, upgrade=False)
    migrate.upgrade(db.engine)
    console.print(f"database at revision {migrate.current_revision(db.engine)}")


@accounts_app.command("create")
def accounts_create(
    name: str = typer.Argument(..., help="The account's unique name."),
    json_output: bool = typer.Option(False, "--json", help="Print {id, name} as JSON."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an account."""
    if not name.strip() or len(name) > 200:
        fail("the account name must be 1 to 200 characters")
    if name.isdigit():
        fail("an account name cannot be all digits: --account would read it as an id")
    config = settings(database_url=database_url)
    db = open_database(config.database_url)
    try:
        with db.writing() as conn:
            account = account_store.create_account(
                conn, name, now_us(), retention_days=config.retention_days or None
            )
    except IntegrityError:
        fail(f"an account named {name!r} exists already")
    if json_output:
        print_json({"id": account.id, "name": account.name})
    else:
        console.print(f"created account {account.name!r} (id {account.id})")


def _find_account(db: Database, account: str) -> Account:
    with db.reading(primary=True) as conn:
        try:
            return account_store.find_account(conn, account)
        except account_store.AccountNotFound:
            fail(f"no account {account!r}")


def _print_account(info: dict[str, object], json_output: bool) -> None:
    shown = account_json(info)
    if json_output:
        print_json(shown)
        return
    days = shown["retention_days"]
    console.print(
        f"account {shown['name']!r} (id {shown['id']}), created {shown['created']}, "
        f"retention: {'keep everything' if days is None else f'{days} days'}",
        highlight=False,
    )


@accounts_app.command("show")
def accounts_show(
    account: str = typer.Argument(..., help="Account name or id."),
    json_output: bool = typer.Option(
        False, "--json", help="Print {id, name, created, retention_days} as JSON."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Show an account: id, name, created, retention (as GET /ss/api/account)."""
    db = open_database(database_url)
    found = _find_account(db, account)
    with db.reading(primary=True) as conn:
        info = account_store.account_info(conn, found.id)
    _print_account(info, json_output)


@accounts_app.command("update")
def accounts_update(
    account: str = typer.Argument(..., help="Account name or id."),
    retention_days: str = typer.Option(
        ...,
        "--retention-days",
        help=f"Days sessions are kept, 1 to {MAX_RETENTION_DAYS}, or none to keep everything.",
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print {id, name, created, retention_days} as JSON."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Change an account's retention (as PATCH /ss/api/account; audited as cli)."""
    if retention_days.lower() in ("none", "null"):
        days = None
    elif retention_days.isascii() and retention_days.isdigit():
        days = int(retention_days)
        if not 1 <= days <= MAX_RETENTION_DAYS:
            fail(f"--retention-days: must be from 1 to {MAX_RETENTION_DAYS}, or none")
    else:
        fail(f"--retention-days: must be a whole number of days or none, got {retention_days!r}")
    db = open_database(database_url)
    found = _find_account(db, account)
    with db.writing(found.id) as conn:
        now = now_us()
        account_store.set_retention(conn, found.id, days)
        target = f"retention_days={'null' if days is None else days}"
        audit.record(conn, found.id, CLI_ACTOR, "account.updated", target, now)
        info = account_store.account_info(conn, found.id)
    _print_account(info, json_output)


@audit_app.command("list")
def audit_list(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    limit: int = typer.Option(100, "--limit", min=1, help="How many entries, newest first."),
    json_output: bool = typer.Option(False, "--json", help="Print the entries as JSON."),
    database_url: str | None = DatabaseOption,
) -> None:
    """What was done with admin rights, newest first (as GET /ss/api/audit)."""
    db = open_database(database_url)
    found = _find_account(db, account)
    with db.reading(primary=True) as conn:
        rows = audit.entries(conn, found.id, before_id=None, limit=limit)
    entries = [audit_entry_json(r) for r in rows]
    if json_output or not sys.stdout.isatty():
        print_json(entries)
        return
    table = Table("at", "key", "action", "target")
    for e in entries:
        table.add_row(e["at"], e["key"], e["action"], e["target"])
    console.print(table)


@keys_app.command("create")
def keys_create(
    account: str = typer.Option(..., "--account", help="Account name or id."),
    scope: Scope = typer.Option(
        ...,
        "--scope",
        help="read (every GET), write (also ingest, delete) or admin (also administer).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print {key, scope, account} as JSON."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create an API key and print it: the only time it is shown."""
    db = open_database(database_url)
    with db.reading() as conn:
        try:
            found = account_store.find_account(conn, account)
        except account_store.AccountNotFound:
            fail(f"no account {account!r}")
    # Under the account's write lock: the audit log numbers its entries per account.
    with db.writing(found.id) as conn:
        now = now_us()
        key = account_store.create_key(conn, found.id, scope, now)
        audit.record(conn, found.id, CLI_ACTOR, "key.created", key[:DISPLAY_PREFIX_LENGTH], now)
    if json_output:
        print_json({"key": key, "scope": scope.value, "account": found.id})
    else:
        console.print(f"{scope.value} key for account {found.name!r}, shown once:")
        console.print(key, highlight=False)


@keys_app.command("list")
def keys_list(
    account: str | None = typer.Option(None, "--account", help="Only this account's keys."),
    database_url: str | None = DatabaseOption,
) -> None:
    """List keys by display prefix, scope, account, created and revoked times."""
    db = open_database(database_url)
    with db.reading() as conn:
        account_id = None
        if account is not None:
            try:
                account_id = account_store.find_account(conn, account).id
            except account_store.AccountNotFound:
                fail(f"no account {account!r}")
        keys = account_store.list_keys(conn, account_id)
    rows = [
        (
            k.prefix,
            k.scope.value,
            f"{k.account_name} ({k.account_id})",
            format_timestamp(k.created_us),
            "" if k.revoked_us is None else format_timestamp(k.revoked_us),
        )
        for k in keys
    ]
    if not sys.stdout.isatty():
        # Piped or captured: one tab-separated line a key, never wrapped or cut.
        sys.stdout.write("prefix\tscope\taccount\tcreated\trevoked\n")
        sys.stdout.writelines("\t".join(row) + "\n" for row in rows)
        return
    table = Table("prefix", "scope", "account", "created", "revoked")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_or_prefix: str = typer.Argument(..., help="The whole key or its 12-character prefix."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Revoke a key; it stops working at once."""
    db = open_database(database_url)
    with db.reading() as conn:
        matches = account_store.find_keys(conn, key_or_prefix)
    if len(matches) != 1:
        fail(f"no single key matches {key_or_prefix!r}")
    account_id, prefix = matches[0]
    with db.writing(account_id) as conn:
        now = now_us()
        if account_store.revoke_account_key(conn, account_id, prefix, now):
            audit.record(conn, account_id, CLI_ACTOR, "key.revoked", prefix, now)
        info = next(k for k in account_store.list_keys(conn, account_id) if k.prefix == prefix)
    console.print(f"revoked {info.prefix} ({info.scope.value}, account {info.account_name!r})")
