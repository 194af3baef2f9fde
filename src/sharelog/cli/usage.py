"""``sharelog usage``: fetch usage history from any compatible server."""

from __future__ import annotations

import typer


def usage_command(
    url: str = typer.Option(..., "--url", envvar="SHARELOG_URL", help="Server base URL."),
    key: str = typer.Option(..., "--key", envvar="SHARELOG_KEY", help="API key."),
) -> None:
    """Fetch usage history (see `sharelog usage --help`)."""
    raise typer.Exit(2)
