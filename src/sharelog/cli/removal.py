"""``sharelog sessions delete``, ``agents erase`` and ``retention sweep``, against the database."""

from __future__ import annotations

import typer

from sharelog.api.params import check_email
from sharelog.cli.context import DatabaseOption, console, fail, open_database, settings
from sharelog.removal import Remover
from sharelog.store import accounts as account_store
from sharelog.store.audit import CLI_ACTOR
from sharelog.store.database import Database

sessions_app = typer.Typer(help="Sessions.", no_args_is_help=True)
agents_app = typer.Typer(help="Agents.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention.", no_args_is_help=True)

AccountOption = typer.Option(..., "--account", help="Account name or id.")


def _account_id(db: Database, account: str) -> int:
    with db.reading(primary=True) as conn:
        try:
            return account_store.find_account(conn, account).id
        except account_store.AccountNotFound:
            fail(f"no account {account!r}")


@sessions_app.command("delete")
def sessions_delete(
    session_id: str = typer.Argument(..., help="The session id."),
    account: str = AccountOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Delete one session with its shares and viewers (listed in the change feed)."""
    db = open_database(database_url)
    if not Remover(db).delete_session(_account_id(db, account), session_id):
        fail(f"no session {session_id!r} in account {account!r}", code=1)
    console.print(f"deleted session {session_id!r}", highlight=False)


@agents_app.command("erase")
def agents_erase(
    email: str = typer.Argument(..., help="The agent's email."),
    account: str = AccountOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Erase an agent: every session the agent presented, and the agent (audited as cli)."""
    try:
        address = check_email(email)
    except ValueError as exc:
        fail(str(exc))
    db = open_database(database_url)
    deleted = Remover(db).erase_agent(_account_id(db, account), address, CLI_ACTOR)
    console.print(f"erased {address}: {deleted} sessions deleted", highlight=False)


@retention_app.command("sweep")
def retention_sweep(database_url: str | None = DatabaseOption) -> None:
    """Delete sessions past each account's retention and prune old tombstones, now."""
    config = settings(database_url=database_url)
    db = open_database(config.database_url)
    result = Remover(db).sweep(config.tombstone_days)
    console.print(
        f"{result.sessions_deleted} sessions deleted, {result.tombstones_pruned} tombstones pruned"
    )
