"""Paging the usage document with ``limit`` and ``cursor``."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store.database import Database
from tests.api.documents import WINDOW, fill
from tests.api.test_errors import assert_error
from tests.conftest import Api, Tenant, session_body


def walk(api: Api, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page of a request; later pages leave the window and agents to the cursor."""
    pages = [api.usage(**params, limit=limit)]
    rest = {k: v for k, v in params.items() if k not in ("from", "to", "agent")}
    while pages[-1]["next_cursor"] is not None:
        assert len(pages[-1]["sessions"]) == limit
        pages.append(api.usage(**rest, limit=limit, cursor=pages[-1]["next_cursor"]))
        assert len(pages) < 1000
    return pages


def listed(pages: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for page in pages for s in page["sessions"]]


@pytest.mark.parametrize("limit", [1, 3, 4, 5, 7, 22, 23, 10000])
def test_pages_list_every_session_once_in_order(api: Api, limit: int) -> None:
    expected = fill(api, 22)
    assert [s["id"] for s in api.usage(**WINDOW)["sessions"]] == expected  # as unpaged
    pages = walk(api, limit, **WINDOW)
    assert listed(pages) == expected
    assert len(pages) == max(1, -(-22 // limit))
    assert all(len(page["sessions"]) <= limit for page in pages)


def test_the_last_page_has_a_null_cursor_even_when_it_is_full(api: Api) -> None:
    fill(api, 6)
    first = api.usage(**WINDOW, limit=3)
    assert isinstance(first["next_cursor"], str) and first["next_cursor"]
    last = api.usage(**WINDOW, limit=3, cursor=first["next_cursor"])
    assert len(last["sessions"]) == 3 and last["next_cursor"] is None
    whole = api.usage(**WINDOW, limit=6)
    assert len(whole["sessions"]) == 6 and whole["next_cursor"] is None


def test_an_empty_window_is_one_page_with_a_null_cursor(api: Api) -> None:
    page = api.usage(**WINDOW, limit=5)
    assert (page["sessions"], page["next_cursor"]) == ([], None)


def test_stats_on_every_page_cover_the_whole_window(api: Api) -> None:
    fill(api, 10)
    whole = api.usage(**WINDOW)["stats"]
    assert whole["total"]["meetings"] == 10
    pages = walk(api, 3, **WINDOW)
    assert [page["stats"] for page in pages] == [whole] * len(pages)


def test_sessions_added_while_paging_are_never_skipped_or_repeated(api: Api) -> None:
    fill(api, 12)
    first = api.usage(**WINDOW, limit=5)
    seen = [s["id"] for s in first["sessions"]]
    # One before the position, one at its very instant on each side of its id, one after.
    last = first["sessions"][-1]
    api.import_sessions(
        session_body("a-before", start="2026-11-02T09:00:00Z", end=None),
        session_body("s-000a", start=last["start"], end=None),  # sorts before s-004 by id
        session_body("s-004a", start=last["start"], end=None),  # sorts after s-004 by id
        session_body("z-after", start="2026-11-02T11:00:00Z", end=None),
        session_body("z-late", start="2026-11-02T23:00:00Z", end=None),
    )
    cursor = first["next_cursor"]
    while cursor is not None:
        page = api.usage(limit=5, cursor=cursor)
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))
    assert set(seen) >= {f"s-{i:03d}" for i in range(12)} | {"s-004a", "z-after", "z-late"}
    assert "a-before" not in seen and "s-000a" not in seen  # behind the cursor already


def test_a_cursor_carries_the_window_and_the_agents(api: Api) -> None:
    fill(api, 12)
    first = api.usage(**WINDOW, agent="agent1@example.com", limit=2)
    second = api.usage(cursor=first["next_cursor"], limit=2)
    assert (second["from"], second["to"]) == ("2026-11-01T00:00:00Z", "2026-11-10T00:00:00Z")
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert {s["agent"] for s in second["sessions"]} == {"agent1@example.com"}
    assert second["stats"] == first["stats"]
    assert list(second["stats"]["per_agent"]) == ["agent1@example.com"]


def test_the_default_window_pages_with_the_first_pages_now(api: Api) -> None:
    now = int(time.time())
    api.import_sessions(
        *(session_body(f"s-{i}", start=str(now - 3600 + i), end=None) for i in range(5))
    )
    first = api.usage(limit=2)
    time.sleep(1.1)  # a later `now` must not move the window
    pages = [first]
    while pages[-1]["next_cursor"]:
        pages.append(api.usage(limit=2, cursor=pages[-1]["next_cursor"]))
    assert {(p["from"], p["to"]) for p in pages} == {(first["from"], first["to"])}
    assert listed(pages) == [f"s-{i}" for i in range(5)]


def test_the_default_window_pages_over_yesterday_and_today(api: Api) -> None:
    now = int(time.time())
    api.import_sessions(
        session_body("yesterday", start=str(now - 86_400), end=str(now - 86_000)),
        session_body("today", start=str(now - 3_600), end=str(now - 3_000)),
    )
    first = api.usage(limit=1)
    second = api.usage(limit=1, cursor=first["next_cursor"])
    assert listed([first, second]) == ["yesterday", "today"]
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert second["next_cursor"] is None


def test_the_default_window_as_reported_may_be_sent_back_with_the_cursor(api: Api) -> None:
    # The default window ends at `now`, to the microsecond; responses write it in
    # whole seconds. Echoing those back with the cursor names the same window.
    now = int(time.time())
    api.import_sessions(
        *(session_body(f"s-{i}", start=str(now - 60 + i), end=None) for i in range(3))
    )
    first = api.usage(limit=2)
    window = {"from": first["from"], "to": first["to"]}
    second = api.usage(**window, limit=2, cursor=first["next_cursor"])
    assert listed([first, second]) == ["s-0", "s-1", "s-2"]
    moved = {"from": first["from"], "to": "2100-01-01T00:00:00Z"}
    response = api.get("/ss/api/usage", params={**moved, "cursor": first["next_cursor"]})
    assert_error(response, 400, "to")


def test_a_cursor_accepts_the_same_values_spelled_otherwise(api: Api) -> None:
    fill(api, 6)
    first = api.get(
        "/ss/api/usage",
        params=[
            *WINDOW.items(),
            ("agent", "agent1@example.com"),
            ("agent", "agent2@example.com"),
            ("limit", "1"),
        ],
    ).json()
    same = api.get(
        "/ss/api/usage",
        params=[
            ("from", "1793491200"),
            ("to", "2026-11-10T01:00:00+01:00"),
            ("agent", "AGENT2@example.com"),
            ("agent", "agent1@example.com"),
            ("limit", "1"),
            ("cursor", first["next_cursor"]),
        ],
    )
    assert same.status_code == 200, same.text


@pytest.mark.parametrize(
    ("given", "parameter"),
    [
        ({"from": "2026-11-01T00:00:01Z"}, "from"),
        ({"to": "2026-11-11"}, "to"),
        ({"agent": "agent2@example.com"}, "agent"),
    ],
)
def test_a_cursor_with_differing_values_is_a_400(
    api: Api, given: dict[str, str], parameter: str
) -> None:
    fill(api, 6)
    first = api.usage(**WINDOW, agent="agent1@example.com", limit=1)
    response = api.get(
        "/ss/api/usage", params={**given, "limit": 1, "cursor": first["next_cursor"]}
    )
    assert_error(response, 400, parameter)


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"from": "2026-10-01"}, "from"),
        ({"to": "2026-11-20"}, "to"),
        ({"agent": "someone@example.com"}, "agent"),
    ],
)
def test_a_cursor_sent_with_its_own_window_is_taken_and_with_another_is_a_400(
    api: Api, change: dict[str, str], parameter: str
) -> None:
    fill(api, 4)
    cursor = api.usage(**WINDOW, limit=2)["next_cursor"]
    response = api.get("/ss/api/usage", params={**WINDOW, "limit": 2, "cursor": cursor, **change})
    assert_error(response, 400, parameter)
    same = api.get("/ss/api/usage", params={**WINDOW, "limit": 2, "cursor": cursor})
    assert same.status_code == 200, same.text


def test_a_cursor_without_agents_refuses_added_agents(api: Api) -> None:
    fill(api, 6)
    first = api.usage(**WINDOW, limit=1)
    response = api.get(
        "/ss/api/usage",
        params={"agent": "agent0@example.com", "limit": 1, "cursor": first["next_cursor"]},
    )
    assert_error(response, 400, "agent")


def tampered(cursor: str) -> list[str]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = raw[:-3] + bytes([raw[-3] ^ 1]) + raw[-2:]
    return [
        base64.urlsafe_b64encode(flipped).decode().rstrip("="),
        cursor[:-4],
        cursor + "A",
        "x" + cursor[1:] if cursor[0] != "x" else "y" + cursor[1:],
        base64.urlsafe_b64encode(b'[0, 9999999999999999, [], 0, "s-000"]').decode(),
        "",
        "%%%",
    ]


def forged(api: Api, *fields: object) -> str:
    """A cursor with a valid tag around any payload (as if the secret had leaked)."""
    signer = api.client.app.state.signer  # type: ignore[attr-defined]
    return str(signer.seal("usage-cursor", api.tenant.account_id, orjson.dumps(list(fields))))


@pytest.mark.parametrize(
    "fields",
    [
        (0.5, 1e300, [], 0, "s"),
        (0, 2**62, [], 0, "s"),
        (0, 10, [], -(2**63), "s"),
        (10, 0, [], 5, "s"),
        (0, 10, "agents", 5, "s"),
        (0, 10, [3], 5, "s"),
        (0, 10, [], 5, 7),
        (True, 10, [], 5, "s"),
    ],
)
def test_a_forged_cursor_out_of_bounds_is_a_400(api: Api, fields: tuple[object, ...]) -> None:
    fill(api, 3)
    response = api.get("/ss/api/usage", params={"limit": 1, "cursor": forged(api, *fields)})
    assert_error(response, 400, "cursor")
    sane = forged(api, 1793491200000000, 1794268800000000, [], 0, "")
    assert api.get("/ss/api/usage", params={"limit": 1, "cursor": sane}).status_code == 200


def test_a_cursor_the_server_did_not_make_is_a_400(api: Api) -> None:
    fill(api, 6)
    cursor = api.usage(**WINDOW, limit=2)["next_cursor"]
    tail_changed = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for bad in [*tampered(cursor), tail_changed, "garbage", "e30"]:
        assert_error(api.get("/ss/api/usage", params={"cursor": bad}), 400, "cursor")


def test_a_cursor_outlives_the_server(db: Database, tenant: Tenant, client: TestClient) -> None:
    api = Api(client, tenant)
    expected = fill(api, 5)
    first = api.usage(**WINDOW, limit=2)
    # A second app on the same database: nothing of the first one's state is needed.
    with TestClient(create_app(Settings(database_url=db.url), database=db)) as restarted:
        rest = Api(restarted, tenant).usage(limit=10, cursor=first["next_cursor"])
    assert [s["id"] for s in first["sessions"] + rest["sessions"]] == expected


def test_limit_is_1_to_10000_written_as_a_plain_integer(api: Api) -> None:
    fill(api, 2)
    assert len(api.usage(**WINDOW, limit=1)["sessions"]) == 1
    assert len(api.usage(**WINDOW, limit=10000)["sessions"]) == 2
    for bad in ("0", "10001", "-1", "1e3", " 5", "", "2.0", "ten", "1.5"):
        assert_error(api.get("/ss/api/usage", params={"limit": bad}), 400, "limit")


def test_include_sessions_pages_and_include_stats_has_no_cursor(api: Api) -> None:
    expected = fill(api, 5)
    pages = walk(api, 2, **WINDOW, include="sessions")
    assert listed(pages) == expected
    assert all("stats" not in page for page in pages)
    stats_only = api.usage(**WINDOW, include="stats", limit=2)
    assert "next_cursor" not in stats_only and "sessions" not in stats_only


def test_stats_on_a_later_page_count_what_was_written_after_the_first(api: Api) -> None:
    fill(api, 6)
    first = api.usage(**WINDOW, limit=2)
    assert first["stats"]["total"]["meetings"] == 6
    api.import_sessions(
        session_body("added", start="2026-11-03T10:00:00Z", end="2026-11-03T11:00:00Z")
    )
    second = api.usage(limit=2, cursor=first["next_cursor"])
    assert second["stats"]["total"]["meetings"] == 7
    assert second["stats"]["per_agent"]["alice@example.com"] == {"meetings": 1, "seconds": 3600}
