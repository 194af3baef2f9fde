"""Over generated requests: a tag stands for one answer, byte for byte, and a tag
given for one answer is never a 304 for a request whose answer differs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api, session_body

PATHS = ("/ss/api/usage", "/ss/api/usage_new", "/ss/api/usage/daily")
FROMS = (None, "2026-11-01", "1793491200", "2026-11-02T10:00:00Z", "2026-10-25")
TOS = ("2026-12-01", "2026-11-03", "2026-11-02T10:00:00Z", "2026-11-02T10:00:01Z")
AGENTS = ("alice@example.com", "ALICE@example.com", "bob@example.com", "carol@example.com")


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """One GET of a window answer: its query, headers, and maybe a JSON body window."""
    path = draw(st.sampled_from(PATHS))
    query: list[tuple[str, str]] = []
    window = {}
    for name, values in (("from", FROMS), ("to", TOS)):
        value = draw(st.sampled_from(values))
        if value is not None:
            window[name] = value
    in_body = path != "/ss/api/usage/daily" and draw(st.booleans())
    if not in_body:
        query += window.items()
    query += [("agent", a) for a in draw(st.lists(st.sampled_from(AGENTS), max_size=2))]
    headers = {}
    if path == "/ss/api/usage":
        fmt = draw(st.sampled_from([None, "json", "csv", "ndjson"]))
        if fmt is not None:
            query.append(("format", fmt))
        accept = draw(st.sampled_from([None, "text/csv", "application/x-ndjson", "*/*"]))
        if accept is not None:
            headers["Accept"] = accept
        if fmt in (None, "json") and accept in (None, "*/*"):
            include = draw(st.sampled_from([None, "stats", "sessions", "stats,sessions"]))
            if include is not None:
                query.append(("include", include))
        limit = draw(st.sampled_from([None, "1", "2", "10"]))
        if limit is not None:
            query.append(("limit", limit))
    if path == "/ss/api/usage/daily":
        tz = draw(st.sampled_from([None, "UTC", "Europe/Berlin", "Pacific/Kiritimati"]))
        if tz is not None:
            query.append(("tz", tz))
    query = draw(st.permutations(query))
    return {"path": path, "query": query, "headers": headers, "body": window if in_body else None}


def send(api: Api, request: dict[str, Any], tags: Sequence[str] = ()) -> httpx.Response:
    headers = {"Authorization": f"Basic {api.tenant.read_key}", **request["headers"]}
    if tags:
        headers["If-None-Match"] = ", ".join(tags)
    return api.client.request(
        "GET", request["path"], params=request["query"], headers=headers, json=request["body"]
    )


@pytest.fixture
def history(api: Api) -> Api:
    api.import_sessions(
        session_body("s-1", start="2026-11-02T10:00:00Z", end="2026-11-02T10:30:00Z"),
        session_body("s-2", start="2026-11-02T10:00:00.5Z", end="2026-11-02T11:00:00Z"),
        session_body(
            "s-3", agent="bob@example.com", start="2026-11-01T23:30:00Z", end="2026-11-02T00:10:00Z"
        ),
        session_body(
            "s-4",
            agent="carol@example.com",
            start="2026-10-30T08:00:00Z",
            end="2026-10-30T09:00:00Z",
        ),
    )
    return api


@pytest.fixture
def seen() -> dict[str, bytes]:
    """Every tag met in one run of the test, with its answer (the history never changes)."""
    return {}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
def test_a_tag_stands_for_one_answer_and_never_revalidates_another(
    history: Api, seen: dict[str, bytes], request: dict[str, Any]
) -> None:
    response = send(history, request)
    if response.status_code == 400:
        return
    assert response.status_code == 200, response.text
    tag = response.headers["etag"]
    assert seen.setdefault(tag, response.content) == response.content
    others = [t for t, body in seen.items() if body != response.content]
    if others:
        assert send(history, request, others).status_code == 200
    assert send(history, request, [*others, tag]).status_code == 304
