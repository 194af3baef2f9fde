"""Events hold a session to the import's caps: 1,000 shares and 1,000 viewers."""

from __future__ import annotations

from typing import Any

import pytest

from sharelog.limits import MAX_SHARES, MAX_VIEWERS
from tests.conftest import Api

START = {
    "id": "st",
    "type": "session.started",
    "session": "s",
    "at": "2026-11-02T10:00:00Z",
    "agent": "a@x.io",
}


def post(api: Api, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post("/ss/api/events", json={"events": events})
    assert response.status_code == 200, response.text
    return response.json()


def joins(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"j{i}",
            "type": "viewer.joined",
            "session": "s",
            "at": "2026-11-02T10:01:00Z",
            "viewer": f"v{i}",
        }
        for i in range(first, first + count)
    ]


def test_viewers_past_the_cap_are_counted_not_applied(api: Api) -> None:
    assert post(api, [START, *joins(0, MAX_VIEWERS - 10)]).get("over_limit") is None
    reply = post(api, joins(MAX_VIEWERS - 10, 15))
    assert reply == {"received": 15, "accepted": 15, "duplicates": 0, "over_limit": 5}
    # A known viewer still leaves and comes back; a new one is still refused.
    leave = {
        "id": "l0",
        "type": "viewer.left",
        "session": "s",
        "at": "2026-11-02T10:02:00Z",
        "viewer": "v0",
    }
    assert post(api, [leave, *joins(5000, 1)])["over_limit"] == 1
    session = api.get("/ss/api/sessions/s").json()
    assert session["viewers"]["count"] == MAX_VIEWERS
    assert session["viewers"]["list"][0]["left"] == "2026-11-02T10:02:00Z"
    # Resending an event past the cap is a duplicate: its id was used.
    assert post(api, joins(MAX_VIEWERS - 10, 15)) == {
        "received": 15,
        "accepted": 0,
        "duplicates": 15,
    }


@pytest.mark.parametrize("batches", [1, 3])
def test_shares_past_the_cap_are_counted_not_applied(api: Api, batches: int) -> None:
    shares = [
        {
            "id": f"sh{i}",
            "type": "share.started",
            "session": "s",
            "at": "2026-11-02T10:00:01Z",
            "share_type": "tab",
        }
        for i in range(MAX_SHARES + 7)
    ]
    size = -(-len(shares) // batches)
    over = sum(
        post(api, ([START] if i == 0 else []) + shares[i : i + size]).get("over_limit", 0)
        for i in range(0, len(shares), size)
    )
    assert over == 7
    assert len(api.get("/ss/api/sessions/s").json()["shares"]) == MAX_SHARES
