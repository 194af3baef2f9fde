"""``sharelog webhooks ...`` against the database (audited as ``cli``), and ``sharelog deliver``."""

from __future__ import annotations

import asyncio
import signal
import sys

import typer
from rich.table import Table

from sharelog.api.observe import configure_access_log
from sharelog.cli.context import DatabaseOption, console, fail, open_database, print_json, settings
from sharelog.errors import SharelogError
from sharelog.store import accounts as account_store
from sharelog.store.audit import CLI_ACTOR
from sharelog.store.database import Database
from sharelog.timestamps import TimestampError, parse_timestamp
from sharelog.webhooks import admin
from sharelog.webhooks.addresses import system_resolver
from sharelog.webhooks.metrics import sender_options
from sharelog.webhooks.sender import Sender

webhooks_app = typer.Typer(help="Webhook endpoints of an account.", no_args_is_help=True)
AccountOption = typer.Option(..., "--account", help="Account name or id.")


def _account(db: Database, account: str) -> int:
    with db.reading() as conn:
        try:
            return account_store.find_account(conn, account).id
        except account_store.AccountNotFound:
            fail(f"no account {account!r}")


@webhooks_app.command("list")
def webhooks_list(
    account: str = AccountOption,
    json_output: bool = typer.Option(False, "--json", help="Print the endpoints as JSON."),
    database_url: str | None = DatabaseOption,
) -> None:
    """List the account's endpoints (never their secrets)."""
    db = open_database(database_url)
    shown = [admin.endpoint_json(e) for e in admin.listing(db, _account(db, account))]
    if json_output or not sys.stdout.isatty():
        print_json(shown)
        return
    table = Table("id", "url", "events", "enabled", "description")
    for e in shown:
        enabled = "yes" if e["enabled"] else f"no ({e['disabled_reason']})"
        table.add_row(e["id"], e["url"], ",".join(e["events"]), enabled, e["description"])
    console.print(table)


@webhooks_app.command("create")
def webhooks_create(
    url: str = typer.Argument(..., help="Where to POST messages (http or https)."),
    account: str = AccountOption,
    events: str = typer.Option("*", "--events", help="Comma list of message types, or *."),
    description: str = typer.Option("", "--description", help="What the endpoint is for."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Register an endpoint and print it with its secret (shown only now)."""
    db = open_database(database_url)
    config = settings(database_url=database_url)
    body = {
        "url": url,
        "events": [e.strip() for e in events.split(",")],
        "description": description,
    }
    try:
        created = admin.create(
            db,
            _account(db, account),
            CLI_ACTOR,
            body,
            system_resolver,
            config.webhook_allow_private,
        )
    except SharelogError as exc:
        fail(exc.message)
    print_json(created)


@webhooks_app.command("delete")
def webhooks_delete(
    endpoint_id: str = typer.Argument(..., help="The endpoint's id."),
    account: str = AccountOption,
    database_url: str | None = DatabaseOption,
) -> None:
    """Delete an endpoint and its messages."""
    db = open_database(database_url)
    try:
        admin.delete(db, _account(db, account), CLI_ACTOR, endpoint_id)
    except SharelogError as exc:
        fail(exc.message)
    console.print(f"deleted {endpoint_id}", highlight=False)


@webhooks_app.command("replay")
def webhooks_replay(
    endpoint_id: str = typer.Argument(..., help="The endpoint's id."),
    account: str = AccountOption,
    since: str = typer.Option(..., "--since", help="Queue again the messages created since then."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Queue again every message of the endpoint created since a time."""
    try:
        since_us = parse_timestamp(since)
    except TimestampError as exc:
        fail(f"--since: {exc}")
    db = open_database(database_url)
    try:
        count = admin.replay(db, _account(db, account), endpoint_id, since_us)
    except SharelogError as exc:
        fail(exc.message)
    console.print(f"queued {count} messages", highlight=False)


def deliver_command(database_url: str | None = DatabaseOption) -> None:
    """Send webhooks only (a separate worker); stops on SIGTERM or Ctrl-C."""
    config = settings(database_url=database_url)
    db = open_database(config.database_url)
    configure_access_log(config.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Sender(db, sender_options(config)).run(stop)

    asyncio.run(main())
    db.dispose()
