"""``sharelog sync``: keep a local account an exact copy of a server's, through its change feed.

Exit codes as ``sharelog usage``: 2 bad arguments, 3 authentication refused,
4 server or network error.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from sharelog.cli.context import DatabaseOption, open_database
from sharelog.cli.usage import exit_with, guarded
from sharelog.client import PositionGone, UsageClient
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.sync import Replica, SourceMismatch
from sharelog.timestamps import now_us

DEFAULT_ACCOUNT = "sync"


def _local_account(db: Database, name: str) -> int:
    with db.writing() as conn:
        try:
            return account_store.find_account(conn, name).id
        except account_store.AccountNotFound:
            return account_store.create_account(conn, name, now_us()).id


def sync_command(
    url: str = typer.Option(..., "--url", envvar="SHARELOG_URL", help="Server base URL."),
    key: str = typer.Option(
        ..., "--key", envvar="SHARELOG_KEY", help="API key of the account to copy (read scope)."
    ),
    database_url: str | None = DatabaseOption,
    account: str = typer.Option(
        DEFAULT_ACCOUNT, "--account", help="Local account to keep as the copy (created if missing)."
    ),
    follow: bool = typer.Option(
        False, "--follow", help="Stay on after catching up, long-polling for changes."
    ),
    wait: float = typer.Option(
        30, "--wait", min=0, max=30, help="Seconds each long poll may wait (--follow)."
    ),
) -> None:
    """Copy a server's account into a local database, incrementally, resuming where it stopped."""
    db = open_database(database_url)
    replica = Replica(db, _local_account(db, account), url.rstrip("/"))
    try:
        since = replica.position()
    except SourceMismatch as exc:
        exit_with(2, str(exc))
    console = Console(stderr=True)
    applied = 0

    def catch_up(client: UsageClient, progress: Progress, task: TaskID) -> None:
        nonlocal since, applied
        while True:
            try:
                for page in client.iter_changes(since, limit=1000, follow=follow, wait=wait):
                    applied += replica.apply(page)
                    since = page.next
                    state = "catching up" if page.has_more else "in sync"
                    progress.update(task, completed=applied, description=state)
                return
            except PositionGone:
                # The server no longer keeps every deletion since our position.
                console.print("position gone: copying the account afresh", highlight=False)
                replica.reset()
                since = None

    with (
        guarded(lambda: UsageClient(url, key)) as client,
        Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            TextColumn("{task.completed} changes"),
            TimeElapsedColumn(),
            console=console,
            transient=not follow,
        ) as progress,
    ):
        task = progress.add_task("catching up", total=None)
        guarded(lambda: catch_up(client, progress, task))
    console.print(f"in sync: {applied} changes applied", highlight=False)
