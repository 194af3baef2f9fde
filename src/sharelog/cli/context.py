"""What every command needs: settings from flags and environment, a migrated database."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console

from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database

console = Console()
err_console = Console(stderr=True)

DatabaseOption = typer.Option(
    None,
    "--database-url",
    help="Database URL (else SHARELOG_DATABASE_URL, else sqlite:///sharelog.db).",
    show_default=False,
)


def settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        fail(str(exc))


def open_database(database_url: str | None, *, upgrade: bool = True) -> Database:
    config = settings(database_url=database_url)
    db = Database(config.database_url, limits=config.database_limits())
    if upgrade:
        migrate.upgrade(db.engine)
    return db


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
