"""The exports are computed from the rows they need, not from usage objects; they must
still say exactly what the JSON document says, byte for byte, on every backend."""

from __future__ import annotations

import csv
import io
import random
import re
from typing import Any

import orjson

from sharelog.exports import CSV_COLUMNS, csv_row
from tests.conftest import Api, session_body

# Wide enough to hold sessions that start in the future: still going on, they
# last 0 seconds on every request, so two requests agree on every value.
WINDOW = {"from": "2026-01-01", "to": "2100-01-01"}
LINK = re.compile(r'<([^>]+)>; rel="next"')
PLACES = [
    {"country": "US", "region": "New York", "city": "New York"},
    {"country": "US", "region": "New York", "city": "Buffalo"},
    {"country": "US"},
    {"country": "IS", "region": "Höfuðborgarsvæðið", "city": "Reykjavík"},
    {"country": "DE", "region": "berlin", "city": "Berlin"},
    {"country": "DE", "region": "Berlin", "city": "Berlin"},
    {"country": "GB", "city": 'Zürich, "not" really'},
    {"region": "Nowhere"},
    {},
]


def generated(count: int, seed: int = 21) -> list[dict[str, Any]]:
    """Sessions of every shape the columns care about: no shares or many, viewers
    sharing a country or not, unknown places, odd agents and names, still going on."""
    rng = random.Random(seed)
    sessions = []
    for i in range(count):
        day, minute = 2 + i % 20, rng.randrange(0, 60 * 20)
        start = f"2026-11-{day:02d}T{minute // 60:02d}:{minute % 60:02d}:00Z"
        end: str | None = f"2026-11-{day:02d}T23:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z"
        if i % 11 == 0:
            start, end = f"2090-01-{1 + i % 28:02d}T10:00:00Z", None
        viewers = [
            {"id": f"v-{v}", "joined": start, "location": rng.choice(PLACES)}
            for v in range(rng.choice((0, 0, 1, 2, 3, 6)))
        ]
        shares = [
            {"at": start, "type": rng.choice(("screen", "tab", "window")), "title": f't{s}, "q"'}
            for s in range(rng.choice((0, 1, 2, 4)))
        ]
        extra: dict[str, Any] = {}
        if i % 3 == 0:
            extra["agent_name"] = rng.choice(('Ann, the "first"', "Þóra", "Bob\nSmith"))
        sessions.append(
            session_body(
                f"s-{i:04d}",
                agent=rng.choice(("alice@example.com", "o,brien@example.com", '"q"@example.com')),
                start=start,
                end=end,
                shares=shares,
                viewers=viewers,
                **extra,
            )
        )
    return sessions


def populate(api: Api) -> None:
    api.import_sessions(*generated(150))
    # A viewer who only ever left was never a viewer: neither counted nor placed.
    events = [
        {
            "id": "e-1",
            "type": "session.started",
            "session": "s-ev",
            "at": "2026-11-05T10:00:00Z",
            "agent": "eve@example.com",
        },
        {
            "id": "e-2",
            "type": "viewer.left",
            "session": "s-ev",
            "at": "2026-11-05T10:05:00Z",
            "viewer": "ghost",
            "location": {"country": "FR"},
        },
        {
            "id": "e-3",
            "type": "viewer.joined",
            "session": "s-ev",
            "at": "2026-11-05T10:06:00Z",
            "viewer": "real",
            "location": {"country": "NO"},
        },
        {"id": "e-4", "type": "session.ended", "session": "s-ev", "at": "2026-11-05T11:00:00Z"},
    ]
    assert api.post("/ss/api/events", json={"events": events}).status_code == 200


def csv_text(rows: list[tuple[Any, ...]]) -> str:
    """What the server wrote before: csv_row of each usage object, the same writer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


def test_the_csv_export_is_the_documents_sessions_flattened_byte_for_byte(api: Api) -> None:
    populate(api)
    sessions = api.usage(**WINDOW)["sessions"]
    assert len(sessions) == 151
    ghosted = next(s for s in sessions if s["id"] == "s-ev")
    assert ghosted["viewers"]["count"] == 1
    response = api.get("/ss/api/usage", params={**WINDOW, "format": "csv"})
    assert response.status_code == 200
    assert response.text == csv_text([csv_row(s) for s in sessions])


def test_csv_pages_put_together_are_the_whole_export(api: Api) -> None:
    populate(api)
    whole = api.get("/ss/api/usage", params={**WINDOW, "format": "csv"}).text
    header, body = whole.split("\n", 1)
    pieces = []
    url: str | None = "/ss/api/usage"
    params: dict[str, Any] | None = {**WINDOW, "format": "csv", "limit": 7}
    while url is not None:
        response = api.get(url, params=params)
        first, rest = response.text.split("\n", 1)
        assert first == header
        pieces.append(rest)
        link = response.headers.get("link")
        url, params = (LINK.fullmatch(link).group(1), None) if link else (None, None)  # type: ignore[union-attr]
    assert "".join(pieces) == body


def test_the_ndjson_export_is_the_documents_sessions_byte_for_byte(api: Api) -> None:
    populate(api)
    document = api.get("/ss/api/usage", params=WINDOW).content
    sessions = orjson.loads(document)["sessions"]
    response = api.get("/ss/api/usage", params={**WINDOW, "format": "ndjson"})
    assert response.content == b"".join(orjson.dumps(s) + b"\n" for s in sessions)
    # And the document's sessions are what orjson writes of them: no other spelling.
    assert b'"sessions":' + orjson.dumps(sessions) in document
