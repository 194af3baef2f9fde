"""The generated parts of the documentation, made from the code they describe.

The pages under ``docs/`` call these through cog (``make docs-gen``), and the
tests fail when a page no longer matches what they return:

- ``settings_markdown``: the table of every ``SHARELOG_*`` setting;
- ``cli_markdown``: the ``--help`` of every ``sharelog`` command;
- ``endpoints_markdown`` and ``openapi_text``: the served OpenAPI document.

``python -m sharelog.reference openapi`` prints the OpenAPI document.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sharelog.config import Settings, settings_table

HELP_WIDTH = 100

# The unit of a setting, from the end of its name; the others have none.
_UNITS = (
    ("_SECONDS", "seconds"),
    ("_MS", "milliseconds"),
    ("_DAYS", "days"),
    ("_BYTES", "bytes"),
    ("_PER_MINUTE", "per minute"),
    ("SHARELOG_RATE_LIMIT", "requests per minute"),
    ("SHARELOG_POOL_SIZE", "connections"),
    ("SHARELOG_WORKERS", "processes"),
)


def setting_unit(variable: str) -> str:
    for suffix, unit in _UNITS:
        if variable.endswith(suffix):
            return unit
    return ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_markdown() -> str:
    """A Markdown table: variable, default, unit and meaning of every setting."""
    lines = ["| variable | default | unit | meaning |", "| --- | --- | --- | --- |"]
    for variable, default, meaning in settings_table():
        shown = f"`{default}`" if default != "" else "(empty)"
        lines.append(
            f"| `{variable}` | {shown} | {setting_unit(variable) or '-'} | {_cell(meaning)} |"
        )
    return "\n".join(lines)


def _commands(group: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    # Typer's groups carry their subcommands in ``commands`` (Typer ships its own click).
    members: dict[str, Any] = getattr(group, "commands", {})
    for name in sorted(members):
        yield (*path, name)
        yield from _commands(members[name], (*path, name))


def command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand of ``sharelog``, groups before their members."""
    from typer.main import get_command

    from sharelog.cli.main import app

    return list(_commands(get_command(app), ()))


def help_text(path: tuple[str, ...]) -> str:
    """What ``sharelog PATH --help`` prints, at a fixed width and without colour."""
    from typer.testing import CliRunner

    from sharelog.cli.main import app

    result = CliRunner().invoke(
        app,
        [*path, "--help"],
        env={"COLUMNS": str(HELP_WIDTH), "NO_COLOR": "1", "TERM": "dumb"},
        terminal_width=HELP_WIDTH,
    )
    if result.exit_code != 0:
        raise RuntimeError(f"sharelog {' '.join(path)} --help failed: {result.output}")
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")


def cli_markdown() -> str:
    """A section per command with its ``--help`` in a fenced block."""
    parts = [f"## `sharelog`\n\n```text\n{help_text(())}\n```"]
    for path in command_paths():
        parts.append(f"## `sharelog {' '.join(path)}`\n\n```text\n{help_text(path)}\n```")
    return "\n\n".join(parts)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the server serves at ``/openapi.json``."""
    from sharelog.api import create_app

    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'reference.db'}"
        document: dict[str, Any] = create_app(Settings(database_url=url)).openapi()
    return document


def openapi_text() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def endpoints_markdown() -> str:
    """A table of every operation of the OpenAPI document."""
    lines = ["| method | path | what it does | key |", "| --- | --- | --- | --- |"]
    for path, operations in openapi_document()["paths"].items():
        for method, operation in operations.items():
            # FastAPI names an operation without a summary after its function
            # ("Healthz"): its description says more.
            summary = operation.get("summary", "")
            if " " not in summary:
                summary = operation.get("description", summary)
            first = summary.strip().splitlines()[0] if summary else ""
            public = operation.get("security") == []
            lines.append(
                f"| `{method.upper()}` | `{path}` | {_cell(first)} | "
                f"{'none' if public else 'yes'} |"
            )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv == ["openapi"]:
        sys.stdout.write(openapi_text())
        return 0
    sys.stderr.write("usage: python -m sharelog.reference openapi\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
