"""``sharelog usage``: fetch usage history from any compatible server.

Exit codes: 0 success, 2 bad arguments, 3 authentication refused, 4 server or
network error; each failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import csv
import enum
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from sharelog.client import (
    ApiError,
    AuthenticationError,
    ClientError,
    InvalidRequest,
    ProtocolError,
    TransportError,
    UsageClient,
)
from sharelog.exports import CSV_COLUMNS, csv_row

T = TypeVar("T")


class Api(enum.StrEnum):
    usage = "usage"
    usage_new = "usage_new"


NEW_COLUMNS = (
    "session_id",
    "email",
    "agent_name",
    "start_date",
    "end_date",
    "duration",
    "session_ended",
    "webcam_s",
    "viewer_count",
    "max_viewer_count",
    "locations",
)


def new_row(s: dict[str, Any]) -> tuple[Any, ...]:
    """A usage_new session as a row: its fields, the viewer info flat, locations joined by ``;``."""
    info = s.get("viewer_info") or {}
    return (
        *(s.get(name) for name in NEW_COLUMNS[:8]),
        info.get("viewer_count", 0),
        info.get("max_viewer_count", 0),
        ";".join(info.get("locations", [])),
    )


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


def exit_with(code: int, message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(action: Callable[[], T]) -> T:
    """Run a client action, turning its errors into the command's exit codes."""
    try:
        return action()
    except AuthenticationError as exc:
        exit_with(3, f"authentication refused ({exc.status} {exc.code}): {exc.message}")
    except InvalidRequest as exc:
        exit_with(2, f"the server refused {exc.parameter or 'the request'}: {exc.message}")
    except ApiError as exc:
        exit_with(4, f"server error {exc.status} {exc.code}: {exc.message}")
    except TransportError as exc:
        exit_with(4, f"cannot reach the server: {exc}")
    except ProtocolError as exc:
        exit_with(4, f"the server's answer is not this API's: {exc}")
    except ClientError as exc:
        exit_with(2, str(exc))


@contextmanager
def output_to(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        exit_with(2, f"cannot write {path}: {exc.strerror}")
    with handle:
        yield handle


def _progress(enabled: bool) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} sessions"),
        console=Console(stderr=True),
        transient=True,
        disable=not enabled,
    )


def write_sessions(
    client: UsageClient, fmt: Format, out: IO[str], query: dict[str, Any], show: bool
) -> None:
    writer = csv.writer(out, lineterminator="\n") if fmt is Format.csv else None
    if writer is not None:
        writer.writerow(CSV_COLUMNS)
    with _progress(show) as progress:
        task = progress.add_task("exporting", total=None)

        def export() -> None:
            for page in client.iter_pages(**query):
                sessions = page.get("sessions", [])
                if writer is not None:
                    writer.writerows(csv_row(s) for s in sessions)
                else:
                    out.write("".join(orjson.dumps(s).decode() + "\n" for s in sessions))
                progress.advance(task, len(sessions))

        guarded(export)


def print_tables(document: dict[str, Any], out: IO[str]) -> None:
    # A file or a pipe gets lines wide enough for a whole row; a terminal its
    # own width, long ids and emails folded rather than cut.
    console = Console(file=out, width=None if out.isatty() else 160)
    stats = document.get("stats", {})
    total = stats.get("total", {"meetings": 0, "seconds": 0})
    console.print(
        f"[bold]{document['from']} to {document['to']}[/bold]: "
        f"{total['meetings']:,} meetings, {total['seconds'] / 3600:,.1f} hours"
    )
    agents = Table("agent", "meetings", "hours", "average minutes", title="per agent")
    for agent, f in sorted(stats.get("per_agent", {}).items(), key=lambda kv: -kv[1]["seconds"]):
        average = f["seconds"] / f["meetings"] / 60 if f["meetings"] else 0
        agents.add_row(agent, f"{f['meetings']:,}", f"{f['seconds'] / 3600:,.1f}", f"{average:.1f}")
    console.print(agents)
    sessions = Table(title="sessions")
    names = ("id", "agent", "start", "end", "minutes", "shares", "viewers", "countries", "peak")
    for name in (*names, "agent name"):
        timestamp = name in ("start", "end")
        sessions.add_column(
            name, no_wrap=timestamp, min_width=20 if timestamp else None, overflow="fold"
        )
    for s in document.get("sessions", []):
        row = csv_row(s)
        sessions.add_row(*(str(v) for v in (*row[:4], f"{s['duration'] / 60:.1f}", *row[5:])))
    console.print(sessions)


def usage_command(
    url: str = typer.Option(..., "--url", envvar="SHARELOG_URL", help="Server base URL."),
    key: str = typer.Option(
        ..., "--key", envvar="SHARELOG_KEY", help="API key (read scope is enough)."
    ),
    from_: str | None = typer.Option(None, "--from", help="Window start (any timestamp spelling)."),
    to: str | None = typer.Option(None, "--to", help="Window end, exclusive (default now)."),
    agent: list[str] | None = typer.Option(None, "--agent", help="Only this agent (repeatable)."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json, ndjson or csv."),
    output: Path | None = typer.Option(
        None, "--output", help="Write to this file instead of stdout."
    ),
    api: Api = typer.Option(
        Api.usage, "--api", help="usage (default) or usage_new (CrankWheel's newer shape)."
    ),
) -> None:
    """Fetch usage history from any compatible server."""
    query: dict[str, Any] = {"from_": from_, "to": to, "agents": agent or None}
    with guarded(lambda: UsageClient(url, key)) as client, output_to(output) as out:
        if api is Api.usage_new:
            write_usage_new(guarded(lambda: client.usage_new_document(**query)), fmt, out)
            return
        if fmt in (Format.ndjson, Format.csv):
            write_sessions(
                client, fmt, out, query, show=output is not None or not sys.stdout.isatty()
            )
            return
        document = guarded(lambda: client.usage_document(**query))
        if fmt is Format.json:
            out.write(orjson.dumps(document).decode() + "\n")
        else:
            print_tables(document, out)


def write_usage_new(document: dict[str, Any], fmt: Format, out: IO[str]) -> None:
    sessions = document["sessions"]
    if fmt is Format.json:
        out.write(orjson.dumps(document).decode() + "\n")
    elif fmt is Format.ndjson:
        out.write("".join(orjson.dumps(s).decode() + "\n" for s in sessions))
    elif fmt is Format.csv:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(NEW_COLUMNS)
        writer.writerows(new_row(s) for s in sessions)
    else:
        console = Console(file=out, width=None if out.isatty() else 200)
        table = Table(title=f"{len(sessions):,} sessions")
        for name in NEW_COLUMNS:
            table.add_column(name, overflow="fold")
        for s in sessions:
            table.add_row(*("" if v is None else str(v) for v in new_row(s)))
        console.print(table)
