"""The ``sharelog`` program: one Typer app, each group in its own module."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack

import typer
import uvicorn

from sharelog.api.metrics import MULTIPROCESS_DIR
from sharelog.cli.admin import accounts_app, audit_app, db_app, keys_app
from sharelog.cli.context import DatabaseOption, console, fail, open_database, settings
from sharelog.cli.demo import demo_session_count, fill_demo, read_key
from sharelog.cli.geo import geo_app
from sharelog.cli.importer import import_command
from sharelog.cli.removal import agents_app, retention_app, sessions_app
from sharelog.cli.sync import sync_command
from sharelog.cli.usage import usage_command
from sharelog.cli.webhooks import deliver_command, webhooks_app
from sharelog.geo import GeoError, open_locator

app = typer.Typer(
    name="sharelog",
    help="Usage history for screen-sharing sessions: server, admin and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(geo_app, name="geo")
app.add_typer(sessions_app, name="sessions")
app.add_typer(agents_app, name="agents")
app.add_typer(retention_app, name="retention")
app.add_typer(webhooks_app, name="webhooks")
app.command("usage")(usage_command)
app.command("deliver")(deliver_command)
app.command("import")(import_command)
app.command("sync")(sync_command)

DEMO_SESSIONS = 2000


def print_welcome(url: str, key: str) -> None:
    console.print(f"\n[bold]sharelog[/bold] is serving on [link={url}]{url}[/link]")
    console.print(f"demo read key (shown once): [bold]{key}[/bold]", highlight=False)
    console.print(f"dashboard: {url}/  (sign in with the key)", highlight=False)
    console.print(f"API docs:  {url}/docs", highlight=False)
    console.print("try:", highlight=False)
    # soft_wrap: a wrapped command would not paste.
    console.print(
        f'  curl -H "Authorization: Basic {key}" "{url}/ss/api/usage"\n',
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def serve(
    host: str | None = typer.Option(None, "--host", help="Listen address [default: 127.0.0.1]."),
    port: int | None = typer.Option(None, "--port", help="Listen port [default: 8000]."),
    workers: int | None = typer.Option(None, "--workers", help="Worker processes [default: 1]."),
    database_url: str | None = DatabaseOption,
    demo: bool = typer.Option(
        False, "--demo", help="Fill the demo account if it is empty and print a read key."
    ),
    no_deliver: bool = typer.Option(
        False, "--no-deliver", help="Do not send webhooks (run `sharelog deliver` elsewhere)."
    ),
) -> None:
    """Apply pending migrations, then serve the API."""
    config = settings(database_url=database_url, host=host, port=port, workers=workers)
    try:
        open_locator(config.geoip_db)
    except GeoError as exc:
        fail(str(exc))
    db = open_database(config.database_url)
    if demo:
        retention = config.retention_days or None
        if demo_session_count(db) == 0:
            key = fill_demo(db, DEMO_SESSIONS, retention_days=retention)
        else:
            key = read_key(db)
        print_welcome(f"http://{config.host}:{config.port}", key)
    db.dispose()
    # Workers rebuild the settings from the environment: hand them the flags that way.
    os.environ["SHARELOG_DATABASE_URL"] = config.database_url
    if no_deliver:
        os.environ["SHARELOG_DELIVER"] = "false"
    with ExitStack() as cleanup:
        if config.workers > 1 and MULTIPROCESS_DIR not in os.environ:
            # Every worker writes its metrics here; any worker's /metrics sums them.
            os.environ[MULTIPROCESS_DIR] = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="sharelog-metrics-")
            )
        uvicorn.run(
            "sharelog.api.app:serve_app",
            factory=True,
            host=config.host,
            port=config.port,
            workers=config.workers,
            log_level=config.log_level,
            access_log=False,  # ours is one JSON line a request, without client addresses
            proxy_headers=False,
        )


@app.command("demo")
def demo_command(
    sessions: int = typer.Option(DEMO_SESSIONS, "--sessions", min=1, help="How many sessions."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Fill a `demo` account with realistic generated sessions and print a read key."""
    config = settings(database_url=database_url)
    db = open_database(config.database_url)
    key = fill_demo(db, sessions, retention_days=config.retention_days or None)
    console.print(f"demo account filled with {sessions} sessions; read key (shown once):")
    console.print(key, highlight=False)


def run() -> None:
    app()
