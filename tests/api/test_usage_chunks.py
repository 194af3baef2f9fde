"""Each chunk of a usage stream is its own snapshot: what writes between two chunks do.

The keyset continues strictly after the last session sent, so a session is
never sent twice, one added ahead of the stream is sent, one added behind it
is not. A page is read whole, in one snapshot.
"""

from __future__ import annotations

import pytest

from sharelog.domain import UsageQuery
from sharelog.store import usage as usage_store
from sharelog.store.database import Database
from sharelog.timestamps import parse_timestamp
from tests.conftest import Api, session_body


def _at(minute: int) -> str:
    return f"2026-11-02T10:{minute:02d}:00Z"


def _query() -> UsageQuery:
    return UsageQuery(
        from_us=parse_timestamp("2026-11-01T00:00:00Z"),
        to_us=parse_timestamp("2026-11-03T00:00:00Z"),
        now_us=parse_timestamp("2026-11-04T00:00:00Z"),
    )


def test_writes_between_chunks_never_repeat_a_session_nor_hide_one_ahead(
    api: Api, db: Database
) -> None:
    api.import_sessions(
        *(session_body(f"s-{m:02d}", start=_at(m), end=None) for m in (10, 20, 30, 40))
    )
    chunks = usage_store.session_chunks(db.reading, api.tenant.account_id, _query(), chunk_size=2)
    first = [s["id"] for s in next(chunks)]
    assert first == ["s-10", "s-20"]
    # Between two chunks: one session behind the stream, one ahead, one moved ahead.
    api.import_sessions(
        session_body("s-05", start=_at(5), end=None),
        session_body("s-35", start=_at(35), end=None),
        session_body("s-10", start=_at(50), end=None),
    )
    rest = [s["id"] for chunk in chunks for s in chunk]
    # s-05 is behind: not sent. s-35 is ahead: sent. s-10 moved its start ahead
    # of the stream: sent again at its new place, as it would be on a later page.
    assert rest == ["s-30", "s-35", "s-40", "s-10"]


def test_a_page_is_its_first_sessions_and_ends_where_more_follow(api: Api, db: Database) -> None:
    api.import_sessions(
        *(session_body(f"s-{m:02d}", start=_at(m), end=None) for m in (10, 20, 30, 40))
    )
    account = api.tenant.account_id
    with db.reading() as conn:
        chunks, end = usage_store.read_page(conn, account, _query(), None, 3, chunk_size=2)
        assert [[s["id"] for s in chunk] for chunk in chunks] == [["s-10", "s-20"], ["s-30"]]
        assert end == (parse_timestamp(_at(30)), "s-30")
        # The next page, from that end: the last one, so no end.
        chunks, end = usage_store.read_page(conn, account, _query(), end, 3, chunk_size=2)
        assert [[s["id"] for s in chunk] for chunk in chunks] == [["s-40"]]
        assert end is None
        # A page that holds exactly what is left is the last page too.
        _, end = usage_store.read_page(conn, account, _query(), None, 4)
        assert end is None


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ss/api/usage", {}),
        ("/ss/api/usage", {"format": "ndjson"}),
        ("/ss/api/usage", {"format": "csv"}),
        ("/ss/api/usage_new", {}),
    ],
)
def test_a_window_of_less_than_a_chunk_goes_out_whole_and_the_same(
    api: Api, monkeypatch: pytest.MonkeyPatch, path: str, params: dict[str, str]
) -> None:
    api.import_sessions(
        *(session_body(f"s-{m:02d}", start=_at(m), end=_at(m + 5)) for m in (10, 20, 30, 40, 50))
    )
    window = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z", **params}
    whole = api.get(path, params=window)
    assert whole.status_code == 200
    assert whole.headers["content-length"] == str(len(whole.content))
    for chunk in (2, 5):
        # A chunk of 5 holds the whole window, but only a sixth read would tell:
        # the body streams, one piece a chunk.
        monkeypatch.setattr(usage_store, "SESSION_CHUNK", chunk)
        monkeypatch.setattr(
            usage_store.session_chunks,
            "__kwdefaults__",
            {**usage_store.session_chunks.__kwdefaults__, "chunk_size": chunk},
        )
        streamed = api.get(path, params=window)
        assert streamed.status_code == 200
        assert "content-length" not in streamed.headers
        assert streamed.content == whole.content
