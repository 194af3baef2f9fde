"""The path a newcomer takes: import a session, read it back."""

from __future__ import annotations

from tests.conftest import Api, session_body


def test_imported_session_is_in_usage(api: Api) -> None:
    assert api.import_sessions(session_body()) == {"received": 1, "created": 1, "replaced": 0}
    usage = api.usage(**{"from": "2026-11-01", "to": "2026-11-03"})
    assert usage["stats"]["total"] == {"meetings": 1, "seconds": 1800}
    assert [s["id"] for s in usage["sessions"]] == ["s-1"]
