"""Bad input is a 400 in the contract's error shape that writes nothing, never a 500:
any value in any field of an import or event, any usage request."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.api.test_errors import assert_error, nothing_stored
from tests.conftest import Api, make_tenant, session_body
from tests.contract.reference import (
    _tenants,
)

# --- Never a 500 for bad input --------------------------------------------------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "2026-11-02T10:00:00Z",
            "1761987600.1234567",
            "a@b.co",
            "\x00",
            "IS",
            "screen",
            "::1",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
        ]
    ),
)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_session_fields = [
    "id",
    "agent",
    "start",
    "end",
    "shares",
    "viewers",
    "agent_name",
    "webcam_seconds",
]
_share_fields = ["at", "type", "title", "url"]
_viewer_fields = ["id", "joined", "left", "ip", "location", "segments", "user_agent"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_value_in_any_field_is_a_200_or_a_400_and_a_400_writes_nothing(
    client: TestClient, db: Database, data: st.DataObject
) -> None:
    api = Api(client, make_tenant(db, f"fuzz-{next(_tenants)}"))
    body: dict[str, Any] = session_body(
        shares=[{"at": "2026-11-02T10:01:00Z", "type": "tab", "title": "t", "url": None}],
        viewers=[
            {
                "id": "v",
                "joined": "2026-11-02T10:01:00Z",
                "left": None,
                "location": {"country": "IS"},
                "segments": [{"joined": 1793613660}],
            }
        ],
    )
    where = data.draw(st.sampled_from(["session", "share", "viewer", "location", "event"]))
    value = data.draw(_json_value)
    if where == "event":
        event = {
            "id": "e",
            "type": data.draw(
                st.sampled_from(
                    [
                        "session.started",
                        "share.started",
                        "viewer.joined",
                        "viewer.left",
                        "webcam.started",
                        "session.ended",
                    ]
                )
            ),
            "session": "s",
            "at": 1761987600,
            "agent": "a@b.co",
            "viewer": "v",
            "share_type": "tab",
        }
        event[
            data.draw(
                st.sampled_from(
                    [*event, "title", "url", "ip", "location", "agent_name", "user_agent"]
                )
            )
        ] = value
        response = api.post("/ss/api/events", json={"events": [event]})
    else:
        target = {
            "session": body,
            "share": body["shares"][0],
            "viewer": body["viewers"][0],
            "location": body["viewers"][0]["location"],
        }[where]
        names = {
            "session": _session_fields,
            "share": _share_fields,
            "viewer": _viewer_fields,
            "location": ["country", "region", "city"],
        }[where]
        target[data.draw(st.sampled_from(names))] = value
        response = api.post("/ss/api/sessions", json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)
        assert nothing_stored(api)
    else:
        document = api.usage(**{"from": "0001-01-01", "to": "9999-12-31T23:59:59Z"})
        for session in document["sessions"]:
            detail = api.get(f"/ss/api/sessions/{session['id']}")
            assert detail.status_code == 200, detail.text
        for fmt in ("csv", "ndjson"):
            response = api.get(
                "/ss/api/usage",
                params={"from": "0001-01-01", "to": "9999-12-31T23:59:59Z", "format": fmt},
            )
            assert response.status_code == 200


_query_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-11-01",
            "1761987600.5",
            "0",
            "10000",
            "stats",
            "sessions",
            "csv",
            "ndjson",
            "a@b.co",
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01",
            "-1",
            "1" * 400,
            "2026-11-01T10:00:00 01:00",
            "%",
            "\x00",
        ]
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["from", "to", "agent", "limit", "cursor", "include", "format"]),
            _query_text,
        ),
        max_size=5,
    ),
    accept=st.sampled_from([None, "text/csv", "application/x-ndjson", "*/*;q=x", "text/csv;q=0"]),
    body=st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["from", "to"]), _json_leaf, max_size=2)
    ),
)
def test_any_usage_request_is_a_200_or_a_400(
    api: Api, params: list[tuple[str, str]], accept: str | None, body: Any
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    response = api.get("/ss/api/usage", params=params, headers=headers, **kwargs)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)
