"""The fenced code blocks of the Markdown pages, and what their info strings mean.

The convention (documented in docs/contributing.md):

- ``sh`` runs in bash against a real server; every ``curl`` in it must get a 2xx;
- ``sh-fails`` runs the same way, and must fail: its ``curl`` gets an error answer;
- ``python`` runs in the project's Python against the same server;
- ``sh-norun``, ``python-norun`` and the data languages never run (output, files
  on other machines, commands that need a second server or third-party packages).

A block with any other info string, or none, fails the tests: nothing is
skipped by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"

RUNNABLE = frozenset({"sh", "sh-fails", "python"})
NEVER_RUN = frozenset(
    {"sh-norun", "python-norun", "text", "json", "yaml", "ini", "toml", "csv", "haproxy", "sql"}
)

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    page: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    info: str  # the first word of the info string
    code: str

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a page, in order, dedented to its fence."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    page = path.relative_to(ROOT).as_posix()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        info = opening["info"].strip().split(" ")[0]
        body: list[str] = []
        close = index + 1
        while close < len(lines):
            stripped = lines[close].strip()
            if stripped.startswith(fence) and stripped.rstrip(fence[0]) == "":
                break
            body.append(lines[close][indent:] if lines[close][:indent].isspace() else lines[close])
            close += 1
        else:
            raise ValueError(f"{page}:{index + 1}: a fenced block is never closed")
        found.append(Block(page, index + 1, info, "\n".join(body) + "\n"))
        index = close + 1
    return found


def pages() -> list[Path]:
    """The README and every page of the site, README first, then the site's files in order."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
