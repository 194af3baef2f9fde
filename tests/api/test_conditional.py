"""Conditional GETs: ETag on the usage-history answers, If-None-Match answered 304,
and never a 304 that hides a changed answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.concurrency import run_in_threadpool

from sharelog.api import conditional
from sharelog.api.routes import usage as usage_routes
from sharelog.api.signing import Signer
from sharelog.api.streaming import open_usage_stream
from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us, parse_timestamp
from tests.conftest import Api, Tenant, make_tenant, session_body

WINDOW = {"from": "2026-11-01", "to": "2026-12-01"}
# Every kind of answer that carries an ETag: (path, query, extra headers).
ANSWERS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    "usage": ("/ss/api/usage", WINDOW, {}),
    "usage stats": ("/ss/api/usage", {**WINDOW, "include": "stats"}, {}),
    "usage page": ("/ss/api/usage", {**WINDOW, "limit": "1"}, {}),
    "usage csv": ("/ss/api/usage", {**WINDOW, "format": "csv"}, {}),
    "usage ndjson by Accept": ("/ss/api/usage", WINDOW, {"Accept": "application/x-ndjson"}),
    "usage_new": ("/ss/api/usage_new", WINDOW, {}),
    "daily": ("/ss/api/usage/daily", {**WINDOW, "tz": "Europe/Berlin"}, {}),
    "session": ("/ss/api/sessions/s-1", {}, {}),
    "session viewers page": ("/ss/api/sessions/s-1", {"viewers_limit": "1"}, {}),
    "changes": ("/ss/api/changes", {}, {}),
    "changes page": ("/ss/api/changes", {"limit": "1"}, {}),
}


def seed(api: Api) -> None:
    viewers = [
        {"id": "v-1", "joined": "2026-11-02T10:01:00Z", "left": "2026-11-02T10:20:00Z"},
        {"id": "v-2", "joined": "2026-11-02T10:02:00Z", "left": "2026-11-02T10:25:00Z"},
    ]
    api.import_sessions(
        session_body("s-1", viewers=viewers),
        session_body(
            "s-2", agent="bob@example.com", start="2026-11-01T09:00:00Z", end="2026-11-01T09:30:00Z"
        ),
    )


def get(api: Api, name: str, tag: str | None = None) -> httpx.Response:
    path, params, headers = ANSWERS[name]
    if tag is not None:
        headers = {**headers, "If-None-Match": tag}
    return api.get(path, params=params, headers=headers)


def tags(api: Api) -> dict[str, str]:
    """The ETag of every kind of answer, each checked to be a weak tag on a 200."""
    found = {}
    for name in ANSWERS:
        response = get(api, name)
        assert response.status_code == 200, (name, response.text)
        tag = response.headers["etag"]
        assert tag.startswith('W/"') and tag.endswith('"'), tag
        assert response.headers["cache-control"] == "private, no-cache"
        found[name] = tag
    return found


def admin_key(db: Database, tenant: Tenant) -> str:
    with db.writing() as conn:
        return account_store.create_key(conn, tenant.account_id, Scope.ADMIN, now_us())


@pytest.mark.parametrize("name", list(ANSWERS))
def test_an_unchanged_answer_is_a_304_with_its_tag_and_no_body(api: Api, name: str) -> None:
    seed(api)
    first = get(api, name)
    assert first.status_code == 200
    tag = first.headers["etag"]
    again = get(api, name, tag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    assert again.headers["cache-control"] == "private, no-cache"
    assert again.headers.get("vary") == first.headers.get("vary")
    assert "content-type" not in again.headers
    # The tag is the same as long as nothing changes.
    assert get(api, name).headers["etag"] == tag


@pytest.mark.parametrize("name", ["usage", "usage page", "usage csv", "usage_new"])
def test_a_304_reads_no_sessions(api: Api, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The validator and the answer's reads share one trip to the thread pool
    (``conditional.precondition_then``): a 304 ends it before the reads."""
    seed(api)
    tag = get(api, name).headers["etag"]
    opened: list[object] = []

    def counted(*args: object) -> object:
        opened.append(args)
        return open_usage_stream(*args)

    monkeypatch.setattr(usage_routes, "open_usage_stream", counted)
    assert get(api, name, tag).status_code == 304
    assert opened == []
    assert get(api, name, '"another"').status_code == 200
    assert len(opened) == 1


@pytest.mark.parametrize("name", ["usage", "usage page", "usage_new"])
def test_the_validator_and_the_answer_take_one_trip_to_the_thread_pool(
    api: Api, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    trips: list[object] = []

    async def counted(func: Any, *args: Any) -> Any:
        trips.append(func)
        return await run_in_threadpool(func, *args)

    monkeypatch.setattr(conditional, "run_in_threadpool", counted)
    monkeypatch.setattr(usage_routes, "run_in_threadpool", counted)
    assert get(api, name).status_code == 200
    assert len(trips) == 1


def test_usage_varies_on_accept(api: Api) -> None:
    assert get(api, "usage").headers["vary"] == "Accept"
    assert get(api, "usage csv").headers["vary"] == "Accept"


def _events(api: Api) -> None:
    body = {
        "events": [
            {
                "id": "e-1",
                "type": "share.started",
                "session": "s-1",
                "at": "2026-11-02T10:05:00Z",
                "share_type": "tab",
                "title": "Pricing",
            }
        ]
    }
    assert api.post("/ss/api/events", json=body).status_code == 200


def import_another(api: Api) -> None:
    api.import_sessions(
        session_body("s-3", start="2026-11-20T09:00:00Z", end="2026-11-20T09:10:00Z")
    )


def _delete(api: Api) -> None:
    headers = {"Authorization": f"Basic {api.tenant.write_key}"}
    assert api.client.delete("/ss/api/sessions/s-2", headers=headers).status_code == 204


def _erase(api: Api) -> None:
    db: Database = api.client.app.state.db  # type: ignore[attr-defined]
    headers = {"Authorization": f"Basic {admin_key(db, api.tenant)}"}
    response = api.client.delete("/ss/api/agents/bob@example.com", headers=headers)
    assert response.status_code == 200 and response.json() == {"deleted": 1}


def _retention(api: Api) -> None:
    db: Database = api.client.app.state.db  # type: ignore[attr-defined]
    # Set in the store: the API's PATCH would also sweep at once, against today's date.
    with db.writing() as conn:
        account_store.set_retention(conn, api.tenant.account_id, 30)
    remover = api.client.app.state.remover  # type: ignore[attr-defined]
    # 30 days before 2026-12-02: s-2 (2026-11-01) goes, s-1 (2026-11-02) stays.
    swept = remover.sweep(tombstone_days=30, at_us=parse_timestamp("2026-12-02T00:00:00Z"))
    assert swept.sessions_deleted == 1


WRITES = {
    "events": _events,
    "import": import_another,
    "deletion": _delete,
    "erasure": _erase,
    "retention sweep": _retention,
}


@pytest.mark.parametrize("write", list(WRITES))
def test_every_write_to_the_account_gives_every_answer_a_new_tag(api: Api, write: str) -> None:
    seed(api)
    before = tags(api)
    WRITES[write](api)
    for name, tag in before.items():
        response = get(api, name, tag)
        assert response.status_code == 200, (write, name)
        assert response.headers["etag"] != tag, (write, name)
        assert response.content


def test_pruning_deletions_gives_the_feed_from_the_start_a_new_tag(api: Api) -> None:
    seed(api)
    _delete(api)
    tag = get(api, "changes").headers["etag"]
    remover = api.client.app.state.remover  # type: ignore[attr-defined]
    assert remover.sweep(tombstone_days=0, at_us=now_us() + 1).tombstones_pruned == 1
    # The pruned deletion is no longer listed: no write moved last_seq, pruned_seq did.
    response = get(api, "changes", tag)
    assert response.status_code == 200 and response.headers["etag"] != tag
    assert [c["id"] for c in response.json()["changes"]] == ["s-1"]


def test_another_accounts_writes_leave_this_accounts_tags_alone(
    api: Api, db: Database, other_tenant: Tenant
) -> None:
    seed(api)
    before = tags(api)
    other = Api(api.client, other_tenant)
    seed(other)
    other.import_sessions(session_body("s-9"))
    _delete(other)
    for name, tag in before.items():
        assert get(api, name, tag).status_code == 304, name
    # The same request for the other account has another tag, and this one's means nothing there.
    for name, tag in before.items():
        response = get(other, name, tag)
        assert response.status_code == 200 and response.headers["etag"] != tag, name


def test_different_parameters_and_representations_have_different_tags(api: Api) -> None:
    seed(api)
    requests: list[tuple[dict[str, str], dict[str, str]]] = [
        (WINDOW, {}),
        ({**WINDOW, "format": "json"}, {}),
        ({**WINDOW, "format": "csv"}, {}),
        ({**WINDOW, "format": "ndjson"}, {}),
        (WINDOW, {"Accept": "text/csv"}),
        (WINDOW, {"Accept": "application/x-ndjson"}),
        ({**WINDOW, "include": "stats"}, {}),
        ({**WINDOW, "include": "sessions"}, {}),
        ({**WINDOW, "limit": "1"}, {}),
        ({**WINDOW, "limit": "2"}, {}),
        ({**WINDOW, "agent": "alice@example.com"}, {}),
        ({**WINDOW, "agent": "bob@example.com"}, {}),
        ({"from": "2026-11-02", "to": "2026-12-01"}, {}),
        ({"from": "2026-11-01", "to": "2026-11-30"}, {}),
        ({"to": "2026-12-01"}, {}),
    ]
    seen = {}
    for params, headers in requests:
        response = api.get("/ss/api/usage", params=params, headers=headers)
        assert response.status_code == 200
        seen[(tuple(params.items()), tuple(headers.items()))] = response.headers["etag"]
    assert len(set(seen.values())) == len(requests)
    page = api.get("/ss/api/usage", params={**WINDOW, "limit": "1"}).json()
    cursor = {"cursor": page["next_cursor"]}
    assert api.get("/ss/api/usage", params=cursor).headers["etag"] not in seen.values()


def test_the_window_of_a_json_body_is_part_of_the_tag(api: Api) -> None:
    seed(api)

    def body_get(window: dict[str, str], tag: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Basic {api.tenant.read_key}"}
        if tag is not None:
            headers["If-None-Match"] = tag
        return api.client.request("GET", "/ss/api/usage", json=window, headers=headers)

    november = body_get(WINDOW)
    tag = november.headers["etag"]
    assert body_get(WINDOW, tag).status_code == 304
    later = body_get({"from": "2026-11-03", "to": "2026-12-01"}, tag)
    assert later.status_code == 200 and later.headers["etag"] != tag
    assert later.json()["stats"] != november.json()["stats"]


def test_if_none_match_takes_lists_weak_and_strong_forms_and_a_star(api: Api) -> None:
    seed(api)
    tag = get(api, "usage").headers["etag"]
    opaque = tag[2:]
    for header in (tag, opaque, f'"nope", {tag}', f'W/"a",{opaque} , "b"', "*"):
        assert get(api, "usage", header).status_code == 304, header
    for header in ('"nope"', 'W/"nope"', "garbage", opaque[1:-1], "**"):
        assert get(api, "usage", header).status_code == 200, header
    # The header given twice: a list too.
    headers = [
        ("Authorization", f"Basic {api.tenant.read_key}"),
        ("If-None-Match", '"a"'),
        ("If-None-Match", tag),
    ]
    response = api.client.get("/ss/api/usage", params=WINDOW, headers=headers)
    assert response.status_code == 304


def test_errors_never_have_a_tag_nor_a_304(api: Api, db: Database) -> None:
    seed(api)
    star = {"If-None-Match": "*"}
    bad = api.get("/ss/api/usage", params={"from": "yesterday"}, headers=star)
    missing = api.get("/ss/api/sessions/s-404", headers=star)
    nobody = api.client.get("/ss/api/usage", params=WINDOW, headers=star)
    assert (bad.status_code, missing.status_code, nobody.status_code) == (400, 404, 401)
    # A deletion pruned past the position makes the feed 410 whatever the client holds.
    since = api.get("/ss/api/changes").json()["next"]
    tag = api.get("/ss/api/changes", params={"since": since}).headers["etag"]
    _delete(api)
    remover = api.client.app.state.remover  # type: ignore[attr-defined]
    remover.sweep(tombstone_days=0, at_us=now_us() + 1)
    gone = [
        api.get("/ss/api/changes", params={"since": since}, headers={"If-None-Match": value})
        for value in (tag, "*")
    ]
    assert [r.status_code for r in gone] == [410, 410]
    for response in (bad, missing, nobody, *gone):
        assert "etag" not in response.headers


def test_a_new_tenant_without_sessions_has_tags_too(api: Api, db: Database) -> None:
    empty = Api(api.client, make_tenant(db, "empty"))
    for name in ("usage", "usage_new", "daily", "changes"):
        tag = get(empty, name).headers["etag"]
        assert get(empty, name, tag).status_code == 304


def test_other_code_or_another_secret_gives_other_tags(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    tag = get(api, "usage").headers["etag"]
    # An upgrade may write the same data differently (or rewrite rows in a migration).
    monkeypatch.setattr(conditional, "code_version", lambda: "another version")
    assert get(api, "usage", tag).status_code == 200
    monkeypatch.undo()
    assert get(api, "usage", tag).status_code == 304
    # A new secret signs new cursors in the answers, and new tags.
    api.client.app.state.signer = Signer("a secret of its own")  # type: ignore[attr-defined]
    assert get(api, "usage", tag).status_code == 200
