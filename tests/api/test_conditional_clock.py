"""Conditional GETs and the clock: answers that run with it have no tag, and a
long poll that holds the current answer waits for another."""

from __future__ import annotations

import threading
import time

import pytest

from sharelog.timestamps import format_timestamp, now_us
from tests.api.test_conditional import WINDOW, import_another, seed
from tests.conftest import Api, session_body


@pytest.mark.parametrize("path", ["/ss/api/usage", "/ss/api/usage_new", "/ss/api/usage/daily"])
def test_a_window_that_ends_now_has_no_tag(api: Api, path: str) -> None:
    seed(api)
    tagged = api.get(path, params=WINDOW).headers["etag"]
    for params in ({}, {"from": "2026-11-01"}):
        response = api.get(path, params=params, headers={"If-None-Match": tagged})
        assert response.status_code == 200
        assert "etag" not in response.headers
        assert response.headers["cache-control"] == "private, no-cache"
    # `from` left out with `to` given is a fixed window.
    assert "etag" in api.get(path, params={"to": "2026-12-01"}).headers


def _live(api: Api, start_us: int) -> None:
    api.import_sessions(session_body("live", start=format_timestamp(start_us), end=None))


def test_an_answer_holding_an_ongoing_session_has_no_tag(api: Api) -> None:
    seed(api)
    since = api.get("/ss/api/changes").json()["next"]
    started = now_us() - 10_000_000
    _live(api, started)
    window = {
        "from": format_timestamp(started - 3_600_000_000),
        "to": format_timestamp(started + 3_600_000_000),
    }
    untagged = [
        ("/ss/api/usage", window),
        ("/ss/api/usage", {**window, "format": "csv"}),
        ("/ss/api/usage_new", window),
        ("/ss/api/usage/daily", window),
        ("/ss/api/sessions/live", {}),
        ("/ss/api/changes", {"since": since}),
        ("/ss/api/changes", {}),
    ]
    for path, params in untagged:
        response = api.get(path, params=params, headers={"If-None-Match": '"x"'})
        assert response.status_code == 200 and "etag" not in response.headers, (path, params)
    # Answers that cannot hold it keep their tags: another agent, another window,
    # an ended session, a feed page cut before it.
    tagged = [
        ("/ss/api/usage", {**window, "agent": "bob@example.com"}),
        ("/ss/api/usage", WINDOW),
        ("/ss/api/sessions/s-1", {}),
        ("/ss/api/changes", {"limit": "2"}),
    ]
    for path, params in tagged:
        assert "etag" in api.get(path, params=params).headers, (path, params)


def test_an_ongoing_session_is_never_a_stale_304_across_a_second(api: Api) -> None:
    started = now_us() - 10_000_000
    _live(api, started)
    window = {
        "from": format_timestamp(started - 60_000_000),
        "to": format_timestamp(started + 3_600_000_000),
    }
    first = api.get("/ss/api/usage", params=window)
    detail = api.get("/ss/api/sessions/live")
    time.sleep(1.1)
    second = api.get("/ss/api/usage", params=window, headers={"If-None-Match": "*"})
    # `*` asks for no answer while one exists: the RFC's 304, but never a tag.
    assert second.status_code == 304 and "etag" not in second.headers
    second = api.get("/ss/api/usage", params=window)
    later_detail = api.get("/ss/api/sessions/live")
    assert second.status_code == later_detail.status_code == 200
    assert second.json()["sessions"][0]["duration"] > first.json()["sessions"][0]["duration"]
    assert later_detail.json()["duration"] > detail.json()["duration"]
    # Once it ends, the answer is fixed again and tagged.
    ended = {
        "events": [
            {
                "id": "end",
                "type": "session.ended",
                "session": "live",
                "at": format_timestamp(started + 5_000_000),
            }
        ]
    }
    assert api.post("/ss/api/events", json=ended).status_code == 200
    tag = api.get("/ss/api/usage", params=window).headers["etag"]
    assert (
        api.get("/ss/api/usage", params=window, headers={"If-None-Match": tag}).status_code == 304
    )


def test_a_long_poll_with_the_current_tag_waits_then_answers_304(api: Api) -> None:
    seed(api)
    # A page with changes answers at once, whatever its `wait`: the client holds it.
    params = {"wait": "0.5"}
    tag = api.get("/ss/api/changes", params=params).headers["etag"]
    started = time.monotonic()
    response = api.get("/ss/api/changes", params=params, headers={"If-None-Match": tag})
    assert response.status_code == 304 and response.headers["etag"] == tag
    assert time.monotonic() - started >= 0.45


def test_a_long_poll_with_the_current_tag_wakes_on_a_commit(api: Api) -> None:
    seed(api)
    params = {"wait": "10"}
    tag = api.get("/ss/api/changes", params=params).headers["etag"]
    timer = threading.Timer(0.5, lambda: import_another(api))
    started = time.monotonic()
    timer.start()
    response = api.get("/ss/api/changes", params=params, headers={"If-None-Match": tag})
    timer.join()
    assert response.status_code == 200 and response.headers["etag"] != tag
    assert [c["id"] for c in response.json()["changes"]] == ["s-1", "s-2", "s-3"]
    assert 0.4 < time.monotonic() - started < 5
