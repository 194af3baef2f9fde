"""``sharelog import``: copy sessions from a file or another server into a sharelog server.

A usage document reports viewers as counts by location, not one by one. When
the source is a sharelog server, each session's viewers are fetched from
``GET /ss/api/sessions/{id}``; otherwise (a file, or a server without that
endpoint) they are rebuilt from the location groups as viewers ``v-1`` ... ``v-n``
who joined at the session's start, so counts and places survive the copy.
Sessions are replaced by id, so running an import twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress

from sharelog.cli.sources import SessionFile
from sharelog.cli.usage import exit_with, guarded
from sharelog.client import ApiError, UsageClient
from sharelog.timestamps import US_PER_SECOND, TimestampError, format_timestamp, parse_timestamp

BATCH = 500


def import_body(
    session: dict[str, Any], viewers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An exported session (a usage document's, or a session detail) as an import body.

    An export writes instants in whole seconds, but its ``duration`` is that of
    the exact ones; the end is set from the start and the duration so that the
    copy's figures equal the source's (likewise a viewer's left and seconds).
    A field missing from a file is left for the server to name.
    """
    listed = viewers if viewers is not None else _viewers_of(session)
    return {
        "id": session.get("id"),
        "agent": session.get("agent"),
        "start": session.get("start"),
        "end": _after(session.get("start"), session.get("duration"), session.get("end")),
        "shares": [_share(s) for s in session.get("shares") or []],
        "viewers": listed,
        # Richer sessions (a server from before them sends neither).
        **{k: session[k] for k in ("agent_name", "webcam_seconds") if k in session},
    }


def _share(share: Any) -> Any:
    if not isinstance(share, dict):
        return share  # for the server to name
    keep = {"at": share.get("at"), "type": share.get("type"), "title": share.get("title") or ""}
    return {**keep, "url": share.get("url")}


def _after(start: Any, seconds: Any, end: Any) -> Any:
    """``start`` plus whole ``seconds`` when an export gives both and an end; else ``end``."""
    if end is None or type(seconds) is not int:
        return end
    try:
        return format_timestamp(parse_timestamp(start) + seconds * US_PER_SECOND)
    except TimestampError:
        return end


def _viewers_of(session: dict[str, Any]) -> list[dict[str, Any]]:
    viewers = session.get("viewers") or []
    if isinstance(viewers, list):  # already in import form
        return viewers
    if "list" in viewers:
        return [
            {
                "id": v["id"],
                "joined": v["joined"],
                "left": _after(v["joined"], v.get("seconds"), v.get("left")),
                "location": {k: v.get(k) for k in ("country", "region", "city")},
                **({"segments": v["segments"]} if "segments" in v else {}),
            }
            for v in viewers["list"]
        ]
    rebuilt, n = [], 0
    for group in viewers.get("locations", []):
        for _ in range(group["count"]):
            n += 1
            rebuilt.append(
                {
                    "id": f"v-{n}",
                    "joined": session["start"],
                    "location": {k: group.get(k) for k in ("country", "region", "city")},
                }
            )
    return rebuilt


def sessions_from_server(
    source: UsageClient, from_: str | None, to: str | None
) -> Iterator[dict[str, Any]]:
    detail = True
    for page in source.iter_pages(from_, to):
        for session in page.get("sessions", []):
            viewers = None
            if detail and (session.get("viewers") or {}).get("count"):
                try:
                    viewers = _viewers_of(source.session_document(session["id"]))
                except ApiError as exc:
                    if exc.status not in (404, 405):
                        raise
                    detail = False  # not a sharelog server: rebuild from locations
            yield import_body(session, viewers)


def batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def import_command(
    file: Path | None = typer.Argument(None, help="NDJSON or JSON file of sessions."),
    url: str = typer.Option(..., "--url", envvar="SHARELOG_URL", help="Target server base URL."),
    key: str = typer.Option(..., "--key", envvar="SHARELOG_KEY", help="A write key of the target."),
    source_url: str | None = typer.Option(
        None, "--source-url", help="Copy from this server instead."
    ),
    source_key: str | None = typer.Option(None, "--source-key", help="A read key of the source."),
    from_: str | None = typer.Option(None, "--from", help="Window start, with --source-url."),
    to: str | None = typer.Option(None, "--to", help="Window end, with --source-url."),
) -> None:
    """Copy sessions into a sharelog server, in batches; running it twice changes nothing."""
    if (file is None) == (source_url is None):
        exit_with(2, "give either FILE or --source-url (with --source-key)")
    if source_url is not None and not source_key:
        exit_with(2, "--source-url needs --source-key")
    totals = {"received": 0, "created": 0, "replaced": 0}
    with guarded(lambda: UsageClient(url, key)) as target:
        source = guarded(lambda: UsageClient(source_url, source_key)) if source_url else None
        reader = SessionFile(file) if file is not None else None
        if source is not None:
            sessions = sessions_from_server(source, from_, to)
        else:
            assert reader is not None
            sessions = (import_body(s) for s in reader.sessions())

        def run() -> None:
            with Progress(console=Console(stderr=True), transient=True) as progress:
                # A file's progress is by bytes read; a server's by sessions copied.
                total = reader.size if reader is not None else None
                task = progress.add_task("importing", total=total)
                for batch in batches(sessions, BATCH):
                    result = target.post_sessions(batch)
                    for name in totals:
                        totals[name] += getattr(result, name)
                    if reader is not None:
                        progress.update(task, completed=reader.position())
                    else:
                        progress.advance(task, len(batch))

        try:
            guarded(run)
        finally:
            if source is not None:
                source.close()
            if reader is not None:
                reader.close()
    Console(stderr=True).print(
        f"imported {totals['received']:,} sessions: {totals['created']:,} created, "
        f"{totals['replaced']:,} replaced",
        highlight=False,
    )
