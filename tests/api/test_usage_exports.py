"""The NDJSON and CSV exports of GET /ss/api/usage."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import orjson
import pytest

from tests.api.documents import fill
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-11-10"}
HEADER = [
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
LINK = re.compile(r'<([^>]+)>; rel="next"')


def viewer(vid: str, country: str | None) -> dict[str, Any]:
    return {"id": vid, "joined": "2026-11-02T10:01:00Z", "location": {"country": country}}


def populate(api: Api) -> None:
    api.import_sessions(
        session_body(
            "s-1",
            agent="alice@example.com",
            shares=[
                {"at": "2026-11-02T10:00:00Z", "type": "screen"},
                {"at": "2026-11-02T10:05:00Z", "type": "tab", "title": 'a "quoted", title'},
            ],
            viewers=[
                viewer("v-1", "US"),
                viewer("v-2", "IS"),
                viewer("v-3", "US"),
                viewer("v-4", None),
                viewer("v-5", "DE"),
            ],
        ),
        session_body("s-2", agent="bob@example.com", start="2026-11-03T10:00:00Z", end=None),
        session_body(
            "s-3",
            agent="o,brien@example.com",
            start="2026-11-04T10:00:00Z",
            end="2026-11-04T10:30:00Z",
        ),
    )


def ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.text == "" or response.text.endswith("\n")
    return [orjson.loads(line) for line in response.text.splitlines()]


def csv_rows(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text)))


def test_ndjson_is_one_session_per_line_as_in_the_json_document(api: Api) -> None:
    populate(api)
    document = api.usage(**WINDOW)
    lines = ndjson(api.get("/ss/api/usage", params={**WINDOW, "format": "ndjson"}))
    for line, session in zip(lines, document["sessions"], strict=True):
        if session["end"] is None:  # ongoing: its duration runs on between the requests
            line.pop("duration"), session.pop("duration")
        assert line == session
    assert [line["id"] for line in lines] == ["s-1", "s-2", "s-3"]
    assert not any("stats" in line or "next_cursor" in line for line in lines)


def test_ndjson_by_format_or_accept_is_the_documents_sessions_a_line_each(api: Api) -> None:
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


def test_csv_has_the_header_and_one_row_per_session(api: Api) -> None:
    populate(api)
    rows = csv_rows(api.get("/ss/api/usage", params={**WINDOW, "format": "csv"}))
    assert rows[0] == HEADER
    by_id = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["s-1", "s-2", "s-3"]
    assert by_id["s-1"] == {
        "id": "s-1",
        "agent": "alice@example.com",
        "start": "2026-11-02T10:00:00Z",
        "end": "2026-11-02T10:30:00Z",
        "duration": "1800",
        "shares": "2",
        "viewers": "5",
        "countries": "DE;IS;US",  # distinct, sorted, unknown left out
        "peak": "5",
        "agent_name": "",  # none given
    }
    assert (by_id["s-2"]["end"], by_id["s-2"]["countries"], by_id["s-2"]["viewers"]) == (
        "",
        "",
        "0",
    )
    assert by_id["s-3"]["agent"] == "o,brien@example.com"  # quoted by the CSV rules


def test_csv_by_format_or_accept_has_the_contract_columns_and_plain_newlines(api: Api) -> None:
    api.import_sessions(
        session_body(
            "c-1",
            shares=[
                {"at": "2026-11-02T10:00:01Z", "type": "screen"},
                {"at": "2026-11-02T10:00:02Z", "type": "tab"},
            ],
            viewers=[
                viewer("1", "US"),
                viewer("2", "IS"),
                viewer("3", "US"),
                {"id": "4", "joined": "2026-11-02T10:01:00Z"},  # no location at all
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
        assert response.text.split("\n")[0] == ",".join(HEADER)
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == HEADER
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


def test_an_empty_window_exports_nothing_but_the_csv_header(api: Api) -> None:
    assert ndjson(api.get("/ss/api/usage", params={**WINDOW, "format": "ndjson"})) == []
    assert csv_rows(api.get("/ss/api/usage", params={**WINDOW, "format": "csv"})) == [HEADER]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/x-ndjson", "application/x-ndjson"),
        ("text/csv", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
        ("text/html, text/csv;q=0.9", "text/csv"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/html", "application/json"),
    ],
)
def test_the_accept_header_selects_the_format(api: Api, accept: str, media_type: str) -> None:
    populate(api)
    response = api.get("/ss/api/usage", params=WINDOW, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)


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


def test_the_format_parameter_wins_over_accept(api: Api) -> None:
    response = api.get(
        "/ss/api/usage", params={**WINDOW, "format": "json"}, headers={"Accept": "text/csv"}
    )
    assert response.headers["content-type"].startswith("application/json")
    assert set(response.json()) == {"from", "to", "stats", "sessions", "next_cursor"}


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_take_the_window_and_agents(api: Api, fmt: str) -> None:
    populate(api)
    params = [
        ("from", "2026-11-02T10:00:00.000001Z"),
        ("to", "2026-11-10"),
        ("agent", "BOB@example.com"),
        ("agent", "o,brien@example.com"),
        ("format", fmt),
    ]
    response = api.get("/ss/api/usage", params=params)
    got = (
        [s["id"] for s in ndjson(response)]
        if fmt == "ndjson"
        else [r[0] for r in csv_rows(response)[1:]]
    )
    assert got == ["s-2", "s-3"]


def follow(api: Api, fmt: str, limit: int) -> tuple[list[str], int]:
    """Page an export by its Link headers; the ids seen and the number of pages."""
    response = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "limit": limit})
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        if fmt == "ndjson":
            seen += [s["id"] for s in ndjson(response)]
        else:
            rows = csv_rows(response)
            assert rows[0] == HEADER  # every page is a whole CSV file
            seen += [r[0] for r in rows[1:]]
        link = response.headers.get("link")
        if link is None:
            return seen, pages
        match = LINK.fullmatch(link)
        assert match, link
        url = httpx.URL(match.group(1))
        assert url.path == "/ss/api/usage"
        assert url.params["limit"] == str(limit) and url.params["format"] == fmt
        response = api.get(match.group(1))


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_page_with_a_link_rel_next_header(api: Api, fmt: str) -> None:
    api.import_sessions(*(session_body(f"s-{i:02d}") for i in range(7)))
    seen, pages = follow(api, fmt, 3)
    assert seen == [f"s-{i:02d}" for i in range(7)]
    assert pages == 3


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_pages_by_link_keep_sessions_sharing_a_start_in_order(api: Api, fmt: str) -> None:
    expected = fill(api, 7)
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
        url = LINK.match(link).group(1) if link else None  # type: ignore[union-attr]
    assert seen == expected


@pytest.mark.parametrize(
    ("accept", "fmt"), [("text/csv", "csv"), ("application/x-ndjson", "ndjson")]
)
def test_an_export_chosen_by_accept_links_to_the_same_format(
    api: Api, accept: str, fmt: str
) -> None:
    api.import_sessions(*(session_body(f"s-{i}") for i in range(3)))
    first = api.get("/ss/api/usage", params={**WINDOW, "limit": 2}, headers={"Accept": accept})
    link = LINK.match(first.headers["link"]).group(1)  # type: ignore[union-attr]
    assert f"format={fmt}" in link
    following = api.get(link)  # no Accept: the link alone says the format
    assert following.headers["content-type"].startswith(accept)
    assert "s-2" in following.text and "link" not in following.headers


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_without_limit_or_on_its_last_page_has_no_link(api: Api, fmt: str) -> None:
    api.import_sessions(*(session_body(f"s-{i}") for i in range(3)))
    assert "link" not in api.get("/ss/api/usage", params={**WINDOW, "format": fmt}).headers
    whole = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "limit": 3})
    assert "link" not in whole.headers


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
@pytest.mark.parametrize("include", ["stats", "stats,sessions", "sessions,stats"])
def test_include_stats_with_an_export_is_a_400(api: Api, fmt: str, include: str) -> None:
    assert_error(
        api.get("/ss/api/usage", params={"format": fmt, "include": include}), 400, "include"
    )
    assert_error(
        api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": include}),
        400,
        "include",
    )


@pytest.mark.parametrize("accept", ["text/csv", "application/x-ndjson"])
def test_include_stats_with_an_accept_chosen_export_is_a_400(api: Api, accept: str) -> None:
    response = api.get("/ss/api/usage", params={"include": "stats"}, headers={"Accept": accept})
    assert_error(response, 400, "include")


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_include_sessions_with_an_export_changes_nothing(api: Api, fmt: str) -> None:
    populate(api)
    plain = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "agent": "alice@example.com"})
    sessions = api.get(
        "/ss/api/usage",
        params={**WINDOW, "format": fmt, "agent": "alice@example.com", "include": "sessions"},
    )
    assert sessions.status_code == 200 and sessions.text == plain.text


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_include_sessions_with_an_export_is_fine_but_with_stats_a_400(api: Api, fmt: str) -> None:
    fill(api, 3)
    response = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": "sessions"})
    assert response.status_code == 200
    both = api.get("/ss/api/usage", params={**WINDOW, "format": fmt, "include": "sessions,stats"})
    assert both.status_code == 400 and both.json()["error"]["parameter"] == "include"


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_a_bad_export_request_is_a_json_error(api: Api, fmt: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"format": fmt, "from": "soon"}), 400, "from")
    assert_error(api.get("/ss/api/usage", params={"format": fmt, "limit": "0"}), 400, "limit")
