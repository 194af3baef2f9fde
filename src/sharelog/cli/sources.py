"""Reading sessions from a file in bounded memory, for ``sharelog import``.

A JSON array (or a usage document's ``sessions``) is read item by item with
ijson; NDJSON a line at a time. Whatever the file's size, at most one session
and one batch are held at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson
import orjson

from sharelog.cli.usage import exit_with

# Longest first line read whole to tell NDJSON (a session a line) from a JSON
# document; a longer one is taken as a one-line JSON document and streamed.
_FIRST_LINE_BYTES = 4 * 1024 * 1024


class SessionFile:
    """The sessions of a file, and how far into it the reading is (for a progress bar)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.size = path.stat().st_size
            self._file: IO[bytes] = path.open("rb")
        except OSError as exc:
            exit_with(2, f"cannot read {path}: {exc.strerror}")

    def position(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()

    def sessions(self) -> Iterator[dict[str, Any]]:
        first = self._file.readline(_FIRST_LINE_BYTES)
        self._file.seek(0)
        head = first.lstrip()
        if head.startswith(b"["):
            return self._checked(self._streamed("item"))
        if not head.startswith(b"{"):
            exit_with(2, f"{self.path} is neither JSON nor NDJSON")
        parsed = _loads(first)
        if isinstance(parsed, dict) and "sessions" not in parsed:
            # A whole session on the first line: NDJSON (perhaps of one line).
            return self._checked(self._ndjson())
        return self._checked(self._document())

    def _ndjson(self) -> Iterator[Any]:
        for n, line in enumerate(self._file, 1):
            if line.strip():
                item = _loads(line)
                if item is _BAD:
                    exit_with(2, f"{self.path} line {n} is not JSON")
                yield item

    def _streamed(self, prefix: str) -> Iterator[Any]:
        try:
            yield from ijson.items(self._file, prefix, use_float=True)
        except ijson.JSONError as exc:
            exit_with(2, f"{self.path} is not valid JSON: {exc}")

    def _document(self) -> Iterator[Any]:
        """``{"sessions": [...]}`` streamed; a lone session object read whole."""
        found = False
        for item in self._streamed("sessions.item"):
            found = True
            yield item
        if not found:
            self._file.seek(0)
            document = _loads(self._file.read(_FIRST_LINE_BYTES + 1))
            if isinstance(document, dict) and "id" in document:
                yield document
            elif not (isinstance(document, dict) and isinstance(document.get("sessions"), list)):
                exit_with(
                    2, f"{self.path}: expected sessions (a list, {{'sessions': [...]}} or NDJSON)"
                )

    def _checked(self, items: Iterator[Any]) -> Iterator[dict[str, Any]]:
        for n, item in enumerate(items, 1):
            if not isinstance(item, dict):
                exit_with(2, f"{self.path}: session {n} is not a JSON object")
            yield item


_BAD = object()


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _BAD
