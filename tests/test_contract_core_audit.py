"""An audit of the contract's core (docs: /work/shared/spec/api.md, from the top through
``POST /ss/api/events``): each test holds one rule to the text, on the edges that the
other tests leave alone."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_errors import assert_error, nothing_stored
from tests.conftest import Api, Tenant, session_body

WIDE = {"from": "1970-01-01", "to": "9999-01-01"}


def events(*items: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(items)}


def started(eid: str, sid: str, at: object, agent: str = "alice@example.com") -> dict[str, Any]:
    return {"id": eid, "type": "session.started", "session": sid, "at": at, "agent": agent}


# --- Errors: a bad request never answers 500 -------------------------------------------


def test_a_limit_of_thousands_of_digits_is_a_400_not_a_500(api: Api) -> None:
    assert_error(api.get("/ss/api/usage", params={"limit": "1" * 5000}), 400, "limit")


def test_a_body_with_a_fine_fraction_and_a_huge_integer_is_a_400_not_a_500(
    client: TestClient, tenant: Tenant, api: Api
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    huge = "1" * 5000
    body = (
        '{"events": [{"id": "e1", "type": "session.started", "session": "s", '
        f'"at": 1761987600.1234567, "agent": "a@b.co", "x": {huge}}}]}}'
    )
    assert_error(client.post("/ss/api/events", content=body, headers=headers), 400, "body")
    body = (
        '{"id": "s", "agent": "a@b.co", "start": 1761987600.1234567, '
        f'"end": {huge}}}'
    )
    response = client.post("/ss/api/sessions", content=body, headers=headers)
    assert_error(response, 400)
    assert nothing_stored(api)
