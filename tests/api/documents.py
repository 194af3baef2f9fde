"""Helpers for tests that write and read usage documents: a window, sessions of a given
length, ids, and what POST /ss/api/sessions stored."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}
SHARE = {"at": "2026-11-02T10:00:03Z", "type": "screen", "title": "Entire screen"}
WHOLE_SECONDS_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
DAY = 86_400


def meeting(sid: str, start: str, seconds: int = 1800, **extra: object) -> dict[str, object]:
    """A session of ``seconds`` from ``start`` (an RFC 3339 date-time)."""
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    end = (begin + timedelta(seconds=seconds)).isoformat()
    return session_body(sid, start=start, end=end, **extra)


def fill(api: Api, count: int, prefix: str = "s", minute: int = 0) -> list[str]:
    """``count`` sessions, four to a start instant, returned in the contract's order."""
    sessions = [
        session_body(
            f"{prefix}-{i:03d}",
            agent=f"agent{i % 3}@example.com",
            start=f"2026-11-02T10:{minute + i // 4:02d}:00Z",
            end="2026-11-02T12:00:00Z",
        )
        for i in range(count)
    ]
    api.import_sessions(*sessions)
    return [str(s["id"]) for s in sorted(sessions, key=lambda s: (s["start"], s["id"]))]


def viewer(vid: str = "v-1", **extra: Any) -> dict[str, Any]:
    """A viewers entry that joined at 10:01 on 2026-11-02."""
    return {"id": vid, "joined": "2026-11-02T10:01:00Z", **extra}


def stored(api: Api) -> dict[str, dict[str, Any]]:
    """Every session of the account, by id, with its viewer list."""
    listed = api.usage(**{"from": "0001-01-01", "to": "9999-01-01"})["sessions"]
    return {s["id"]: api.get(f"/ss/api/sessions/{s['id']}").json() for s in listed}


def post(api: Api, body: Any) -> Any:
    """POST ``body`` to /ss/api/sessions as JSON, whatever it is."""
    return api.post("/ss/api/sessions", json=body)


def ids(document: dict[str, Any]) -> list[str]:
    return [s["id"] for s in document["sessions"]]


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


RICHER_VIEWER_FIELDS = ("segments", "watched_seconds", "browser", "os", "device")


def without_segments(viewer: dict[str, Any]) -> dict[str, Any]:
    """A viewers.list entry without the fields of issue 16 (tested on their own)."""
    assert set(RICHER_VIEWER_FIELDS) <= set(viewer)
    return {k: v for k, v in viewer.items() if k not in RICHER_VIEWER_FIELDS}
