"""Which code is running: answers and stored entries made by other code are not reused."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from sharelog import __version__


@cache
def code_version() -> str:
    """A digest of the running code's source, migrations included: the same on every
    process and server that runs the same code, another after an upgrade, which may
    write answers differently (or rewrite rows without new positions)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
