"""Paging with limit/cursor, and the NDJSON and CSV exports."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import orjson
import pytest

from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}


def fill(api: Api, count: int, *, day: int = 2) -> list[str]:
    """``count`` sessions, several sharing a start, in the contract's order."""
    sessions = [
        session_body(
            f"s-{i:03d}",
            agent=f"agent{i % 3}@example.com",
            start=f"2026-11-0{day}T10:{i // 4:02d}:00Z",
            end=f"2026-11-0{day}T11:00:00Z",
        )
        for i in range(count)
    ]
    api.import_sessions(*sessions)
    return sorted((s["start"], s["id"]) for s in sessions)  # type: ignore[misc]


def all_pages(api: Api, limit: int, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    seen: list[str] = []
    pages = []
    cursor = None
    while True:
        page = api.usage(**params, limit=limit, **({"cursor": cursor} if cursor else {}))
        pages.append(page)
        assert len(page["sessions"]) <= limit
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages


def test_pages_cover_the_window_once_with_stats_on_every_page(api: Api) -> None:
    expected = [sid for _, sid in fill(api, 23)]
    whole = api.usage(**WINDOW)
    seen, pages = all_pages(api, 5, **WINDOW)
    assert seen == expected == [s["id"] for s in whole["sessions"]]
    assert len(pages) == 5
    assert all(page["stats"] == whole["stats"] for page in pages)
    assert pages[-1]["next_cursor"] is None


def test_an_exact_last_page_has_a_null_cursor(api: Api) -> None:
    fill(api, 10)
    page = api.usage(**WINDOW, limit=10)
    assert len(page["sessions"]) == 10 and page["next_cursor"] is None


def test_sessions_added_while_paging_are_never_skipped_or_repeated(api: Api) -> None:
    fill(api, 12)
    first = api.usage(**WINDOW, limit=5)
    # One lands before the cursor, one after it.
    api.import_sessions(
        session_body("a-early", start="2026-11-02T09:00:00Z"),
        session_body("z-late", start="2026-11-02T23:00:00Z", end=None),
    )
    seen = [s["id"] for s in first["sessions"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.usage(limit=5, cursor=cursor)
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert "z-late" in seen
    assert set(seen) >= {f"s-{i:03d}" for i in range(12)}


def test_a_cursor_carries_the_window_and_agents(api: Api) -> None:
    fill(api, 9)
    first = api.usage(**WINDOW, agent="agent1@example.com", limit=2)
    second = api.usage(cursor=first["next_cursor"], limit=2)
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert {s["agent"] for s in second["sessions"]} == {"agent1@example.com"}
    assert second["stats"] == first["stats"]


def test_the_default_window_pages_too(api: Api) -> None:
    now = int(time.time())
    api.import_sessions(
        session_body("yesterday", start=str(now - 86_400), end=str(now - 86_000)),
        session_body("today", start=str(now - 3_600), end=str(now - 3_000)),
    )
    first = api.usage(limit=1)
    second = api.usage(limit=1, cursor=first["next_cursor"])
    assert [s["id"] for s in first["sessions"] + second["sessions"]] == ["yesterday", "today"]
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"from": "2026-10-01"}, "from"),
        ({"to": "2026-11-20"}, "to"),
        ({"agent": "someone@example.com"}, "agent"),
    ],
)
def test_a_cursor_with_another_window_is_a_400(
    api: Api, change: dict[str, str], parameter: str
) -> None:
    fill(api, 4)
    cursor = api.usage(**WINDOW, limit=2)["next_cursor"]
    response = api.get("/ss/api/usage", params={**WINDOW, "limit": 2, "cursor": cursor, **change})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == parameter
    # The same values as the cursor's are fine.
    assert (
        api.get("/ss/api/usage", params={**WINDOW, "limit": 2, "cursor": cursor}).status_code == 200
    )


def test_a_cursor_the_server_did_not_make_is_a_400(api: Api) -> None:
    fill(api, 4)
    cursor = api.usage(**WINDOW, limit=2)["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for bad in (tampered, "garbage", "", "e30"):
        response = api.get("/ss/api/usage", params={"cursor": bad})
        assert response.status_code == 400
        assert response.json()["error"]["parameter"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "10001", "-1", "ten", "1.5"])
def test_limit_is_1_to_10000(api: Api, limit: str) -> None:
    response = api.get("/ss/api/usage", params={**WINDOW, "limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "limit"


def test_ndjson_is_one_session_per_line(api: Api) -> None:
    fill(api, 7)
    whole = api.usage(**WINDOW)
    for kwargs in (
        {"params": {**WINDOW, "format": "ndjson"}},
        {"params": WINDOW, "headers": {"Accept": "application/x-ndjson"}},
    ):
        response = api.get("/ss/api/usage", **kwargs)
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = response.text.splitlines()
        assert [orjson.loads(line) for line in lines] == whole["sessions"]


def test_csv_has_the_contract_columns(api: Api) -> None:
    api.import_sessions(
        session_body(
            "c-1",
            shares=[
                {"at": "2026-11-02T10:00:01Z", "type": "screen"},
                {"at": "2026-11-02T10:00:02Z", "type": "tab"},
            ],
            viewers=[
                {"id": "1", "joined": "2026-11-02T10:01:00Z", "location": {"country": "US"}},
                {"id": "2", "joined": "2026-11-02T10:01:00Z", "location": {"country": "IS"}},
                {"id": "3", "joined": "2026-11-02T10:01:00Z", "location": {"country": "US"}},
                {"id": "4", "joined": "2026-11-02T10:01:00Z"},
            ],
        ),
        session_body("c-2", start="2026-11-03T10:00:00Z", end=None),
    )
    for kwargs in (
        {"params": {**WINDOW, "format": "csv"}},
        {"params": WINDOW, "headers": {"Accept": "text/csv"}},
    ):
        response = api.get("/ss/api/usage", **kwargs)
        assert response.headers["content-type"].startswith("text/csv")
        # Lines end with a plain newline: naive line splitting works too.
        assert (
            response.text.split("\n")[0]
            == "id,agent,start,end,duration,shares,viewers,countries,peak,agent_name"
        )
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == [
            "id",
            "agent",
            "start",
            "end",
            "duration",
            "shares",
            "viewers",
            "countries",
            "peak",
            "agent_name",
        ]
        assert rows[1] == [
            "c-1",
            "alice@example.com",
            "2026-11-02T10:00:00Z",
            "2026-11-02T10:30:00Z",
            "1800",
            "2",
            "4",
            "IS;US",
            "4",
            "",
        ]
        assert rows[2][:4] == ["c-2", "alice@example.com", "2026-11-03T10:00:00Z", ""]
        assert len(rows) == 3


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_page_with_a_link_header(api: Api, fmt: str) -> None:
    expected = [sid for _, sid in fill(api, 7)]
    seen: list[str] = []
    url: str | None = "/ss/api/usage?" + "&".join(
        f"{k}={v}" for k, v in {**WINDOW, "format": fmt, "limit": 3}.items()
    )
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.text.splitlines()
        if fmt == "csv":
            body = body[1:]
            seen += [line.split(",")[0] for line in body]
        else:
            seen += [orjson.loads(line)["id"] for line in body]
        link = response.headers.get("link")
        url = re.match(r'<([^>]+)>; rel="next"', link).group(1) if link else None  # type: ignore[union-attr]
    assert seen == expected


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_include_stats_with_an_export_is_a_400(api: Api, fmt: str) -> None:
    response = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": "stats"})
    assert response.status_code == 400
    assert response.json()["error"]["parameter"] == "include"


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/csv", "text/csv"),
        ("application/x-ndjson", "application/x-ndjson"),
        ("application/json, text/csv", "application/json"),
        ("text/html, text/csv;q=0.9", "text/csv"),
        ("*/*", "application/json"),
        ("", "application/json"),
        ("text/csv;q=0.1, application/json", "application/json"),
        ("application/json;q=0.5, application/x-ndjson;q=0.8", "application/x-ndjson"),
        ("text/csv;q=0", "application/json"),
        ("text/csv;q=0.5, application/x-ndjson;q=0.5", "text/csv"),
    ],
)
def test_the_most_preferred_answerable_accept_type_decides(
    api: Api, accept: str, media_type: str
) -> None:
    response = api.get("/ss/api/usage", params=WINDOW, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_include_sessions_with_an_export_is_what_it_does_anyway(api: Api, fmt: str) -> None:
    fill(api, 3)
    response = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": "sessions"})
    assert response.status_code == 200
    both = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": "sessions,stats"})
    assert both.status_code == 400 and both.json()["error"]["parameter"] == "include"
