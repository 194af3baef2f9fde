"""GET /ss/api/sessions/{id}: ``viewers.list`` whole by default (streamed past a
chunk), or a page at a time with ``viewers_limit`` and ``viewers_cursor``."""

from __future__ import annotations

from typing import Any

import pytest

from sharelog.api import session_detail
from sharelog.limits import MAX_VIEWERS, MAX_VIEWERS_LIMIT
from sharelog.store.bulk import bulk_insert
from sharelog.store.database import Database
from sharelog.store.schema import viewers
from sharelog.store.segments import viewer_segment_columns
from sharelog.timestamps import parse_timestamp
from tests.api.test_errors import assert_error
from tests.conftest import Api, Tenant, session_body


def crowd(count: int) -> list[dict[str, Any]]:
    """Viewers joining in tens at the same minute, so that ids break many ties
    (and "v-10" sorts before "v-2": by code point)."""
    return [
        {
            "id": f"v-{i}",
            "joined": f"2026-11-02T10:{i // 10 % 60:02d}:00Z",
            "left": "2026-11-02T11:00:00Z",
        }
        for i in range(count)
    ]


def expected_order(count: int) -> list[str]:
    return [v["id"] for v in sorted(crowd(count), key=lambda v: (v["joined"], v["id"]))]


def detail(api: Api, sid: str = "s-1", **params: Any) -> dict[str, Any]:
    response = api.get(f"/ss/api/sessions/{sid}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def walk(api: Api, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page from the first: the ids in order, and the pages."""
    ids: list[str] = []
    pages = []
    cursor = None
    while True:
        page = detail(api, **params, **({"viewers_cursor": cursor} if cursor else {}))
        pages.append(page)
        ids += [v["id"] for v in page["viewers"]["list"]]
        cursor = page["viewers"]["next_cursor"]
        if cursor is None:
            return ids, pages


def test_without_paging_the_list_is_whole_and_has_no_cursor(api: Api) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(MAX_VIEWERS)))
    whole = detail(api)
    assert [v["id"] for v in whole["viewers"]["list"]] == expected_order(MAX_VIEWERS)
    assert "next_cursor" not in whole["viewers"]


def test_pages_give_the_whole_list_in_order_once(api: Api) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(25)))
    whole = detail(api)
    ids, pages = walk(api, viewers_limit=7)
    assert ids == expected_order(25)
    assert [len(p["viewers"]["list"]) for p in pages] == [7, 7, 7, 4]
    # Each page is the session as a whole, its list cut to the page.
    for page in pages:
        assert {**page, "viewers": None} == {**whole, "viewers": None}
        assert page["viewers"]["count"] == 25
    assert [v for p in pages for v in p["viewers"]["list"]] == whole["viewers"]["list"]


def test_a_page_that_ends_the_list_exactly_has_a_null_cursor(api: Api) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(6)))
    ids, pages = walk(api, viewers_limit=3)
    assert ids == expected_order(6)
    assert len(pages) == 2


def test_a_cursor_alone_takes_the_largest_page(api: Api) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(30)))
    first = detail(api, viewers_limit=1)
    rest = detail(api, viewers_cursor=first["viewers"]["next_cursor"])
    assert len(rest["viewers"]["list"]) == 29 and rest["viewers"]["next_cursor"] is None


def test_a_session_without_viewers_pages_to_an_empty_list(api: Api) -> None:
    api.import_sessions(session_body("s-1"))
    page = detail(api, viewers_limit=5)
    assert page["viewers"]["list"] == [] and page["viewers"]["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"viewers_limit": "0"}, "viewers_limit"),
        ({"viewers_limit": str(MAX_VIEWERS_LIMIT + 1)}, "viewers_limit"),
        ({"viewers_limit": "ten"}, "viewers_limit"),
        ({"viewers_limit": ""}, "viewers_limit"),
        ([("viewers_limit", "5"), ("viewers_limit", "6")], "viewers_limit"),
        ({"viewers_cursor": "not-a-cursor"}, "viewers_cursor"),
        ({"viewers_cursor": ""}, "viewers_cursor"),
    ],
)
def test_bad_paging_parameters_are_a_400_naming_them(api: Api, params: Any, parameter: str) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(3)))
    response = api.get("/ss/api/sessions/s-1", params=params)
    assert_error(response, 400, parameter)


def test_a_cursor_serves_only_its_session_and_its_account(
    api: Api, db: Database, other_tenant: Tenant
) -> None:
    api.import_sessions(
        session_body("s-1", viewers=crowd(3)), session_body("s-2", viewers=crowd(3))
    )
    cursor = detail(api, viewers_limit=1)["viewers"]["next_cursor"]
    response = api.get("/ss/api/sessions/s-2", params={"viewers_cursor": cursor})
    assert_error(response, 400, "viewers_cursor")
    other = Api(api.client, other_tenant)
    other.import_sessions(session_body("s-1", viewers=crowd(3)))
    response = other.get("/ss/api/sessions/s-1", params={"viewers_cursor": cursor})
    assert_error(response, 400, "viewers_cursor")


def test_past_a_chunk_the_whole_list_is_streamed_unchanged(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.import_sessions(session_body("s-1", viewers=crowd(11)))
    whole = api.get("/ss/api/sessions/s-1")
    assert "content-length" in whole.headers
    for chunk in (3, 5, 10):
        monkeypatch.setattr(session_detail, "VIEWER_CHUNK", chunk)
        streamed = api.get("/ss/api/sessions/s-1")
        assert streamed.status_code == 200
        # Sent in pieces, and the very same document, key order included.
        assert "content-length" not in streamed.headers
        assert streamed.content == whole.content


def test_an_old_session_past_the_cap_is_listed_whole_or_paged(db: Database, api: Api) -> None:
    """Sessions that took events before the cap held may have more viewers than it."""
    count = MAX_VIEWERS + MAX_VIEWERS // 2
    api.import_sessions(session_body("s-1"))
    rows = []
    for v in crowd(count):
        joined = parse_timestamp(v["joined"])
        left = parse_timestamp(v["left"])
        marks = [(joined, " 0000", 1), (left, " 0001", 0)]
        rows.append(
            {
                "account_id": api.tenant.account_id,
                "session_id": "s-1",
                "id": v["id"],
                "joined_us": joined,
                "last_join_us": joined,
                "last_leave_us": left,
                "left_us": left,
                **viewer_segment_columns(marks),
            }
        )
    with db.writing() as conn:
        bulk_insert(conn, viewers, rows)
    whole = api.get("/ss/api/sessions/s-1")
    assert "content-length" not in whole.headers
    listed = [v["id"] for v in whole.json()["viewers"]["list"]]
    assert listed == expected_order(count)
    assert walk(api, viewers_limit=MAX_VIEWERS_LIMIT)[0] == listed


def test_an_unknown_session_with_paging_is_still_a_404(api: Api) -> None:
    response = api.get("/ss/api/sessions/nope", params={"viewers_limit": "5"})
    assert_error(response, 404)
