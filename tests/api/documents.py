"""Helpers for tests that read usage documents: a window, sessions of a given length, ids."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tests.conftest import session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}
WHOLE_SECONDS_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
DAY = 86_400


def meeting(sid: str, start: str, seconds: int = 1800, **extra: object) -> dict[str, object]:
    """A session of ``seconds`` from ``start`` (an RFC 3339 date-time)."""
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    end = (begin + timedelta(seconds=seconds)).isoformat()
    return session_body(sid, start=start, end=end, **extra)


def ids(document: dict[str, Any]) -> list[str]:
    return [s["id"] for s in document["sessions"]]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


RICHER_VIEWER_FIELDS = ("segments", "watched_seconds", "browser", "os", "device")


def without_segments(viewer: dict[str, Any]) -> dict[str, Any]:
    """A viewers.list entry without the fields of issue 16 (tested on their own)."""
    assert set(RICHER_VIEWER_FIELDS) <= set(viewer)
    return {k: v for k, v in viewer.items() if k not in RICHER_VIEWER_FIELDS}
