"""Errors: one JSON shape with the fitting status, never a 500 for bad input, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import Api, Tenant, session_body

MIB = 1024 * 1024
CODES = {
    400: "invalid_parameter",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
    503: "unavailable",
    500: "internal",
}


def assert_error(
    response: httpx.Response, status: int, parameter: str | None = None
) -> dict[str, Any]:
    """The contract's error body with ``status`` and its code; ``parameter`` when named."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == CODES[status]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "parameter"}
    if parameter is not None:
        assert error.get("parameter") == parameter, error
    return error  # type: ignore[no-any-return]


def nothing_stored(api: Api) -> bool:
    document = api.usage(**{"from": "1970-01-01", "to": "9999-01-01"})
    return bool(document["sessions"] == [] and document["stats"]["total"]["meetings"] == 0)


@pytest.mark.parametrize("path", ["/nowhere", "/ss/api/nowhere", "/ss/api/usage/extra"])
def test_an_unknown_route_is_404_not_found(api: Api, path: str) -> None:
    assert_error(api.get(path), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/ss/api/usage"),
        ("POST", "/ss/api/usage"),
        ("PUT", "/ss/api/sessions"),
        ("GET", "/ss/api/sessions"),
        ("POST", "/ss/api/sessions/s-1"),
        ("PUT", "/ss/api/sessions/s-1"),
        ("PATCH", "/healthz"),
    ],
)
def test_a_known_route_with_another_method_is_405(api: Api, method: str, path: str) -> None:
    headers = {"Authorization": f"Basic {api.tenant.write_key}"}
    assert_error(api.client.request(method, path, headers=headers), 405)


def test_a_body_over_10_mib_by_content_length_is_413_and_writes_nothing(api: Api) -> None:
    padding = b" " * (10 * MIB)
    body = b'{"sessions": [' + padding + b'{"id": "s-1", "agent": "a@example.com", "start": 0}]}'
    response = api.post(
        "/ss/api/sessions", content=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413)
    assert nothing_stored(api)


def test_a_chunked_body_over_10_mib_is_413_and_writes_nothing(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"sessions": [{"id": "s-1", "agent": "a@example.com", "start": 0}]'
        for _ in range(11):
            yield b" " * MIB
        yield b"}"

    # A generator body goes out without Content-Length (chunked).
    response = api.post(
        "/ss/api/sessions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413)
    assert nothing_stored(api)


def test_a_body_of_exactly_10_mib_is_accepted(api: Api) -> None:
    head = b'{"sessions": [{"id": "s-1", "agent": "a@example.com", "start": "2026-11-02"}]'
    body = head + b" " * (10 * MIB - len(head) - 1) + b"}"
    assert len(body) == 10 * MIB
    response = api.post(
        "/ss/api/sessions", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1


@pytest.mark.parametrize("name", ["from", "to", "limit", "cursor", "include", "format"])
def test_a_single_valued_parameter_given_twice_is_a_400_naming_it(api: Api, name: str) -> None:
    values = {
        "from": ("2026-11-01", "2026-11-01"),
        "to": ("2026-11-02", "2026-11-02"),
        "limit": ("5", "5"),
        "cursor": ("x", "x"),
        "include": ("stats", "stats"),
        "format": ("json", "json"),
    }[name]
    response = api.get("/ss/api/usage", params=[(name, v) for v in values])
    assert_error(response, 400, name)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=", "from"),
        ("from=2026-11-02&to=2026-11-01", "from"),
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("include=everything", "include"),
        ("include=", "include"),
        ("format=xml", "format"),
        ("format=csv&include=stats", "include"),
        ("cursor=not-a-cursor", "cursor"),
        ("agent=nobody", "agent"),
        ("agent=a@b@c", "agent"),
        ("from=%00", "from"),
        ("from=99999999999999999999", "from"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(api: Api, query: str, parameter: str) -> None:
    error = assert_error(api.get(f"/ss/api/usage?{query}"), 400, parameter)
    assert error["message"].startswith(f"{parameter}:")


@pytest.mark.parametrize(
    "body",
    [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"null", b"42", b'{"sessions": "x"}', b"[]"],
)
def test_a_post_body_of_the_wrong_shape_is_a_400_and_writes_nothing(api: Api, body: bytes) -> None:
    response = api.post(
        "/ss/api/sessions", content=body, headers={"Content-Type": "application/json"}
    )
    error = assert_error(response, 400)
    assert error["parameter"] in ("body", "sessions")
    assert nothing_stored(api)


def test_an_empty_post_body_is_a_400_naming_the_body(api: Api) -> None:
    assert_error(api.post("/ss/api/sessions", content=b""), 400, "body")


def test_a_get_body_that_is_not_a_json_object_is_a_400_naming_the_body(api: Api) -> None:
    assert_error(api.get("/ss/api/usage", content=b"[1]"), 400, "body")
    assert_error(api.get("/ss/api/usage", content=b"{"), 400, "body")


def test_the_window_edge_of_representable_time_is_never_a_500(api: Api) -> None:
    # The default `from` (to - 28 days) would fall before year 1.
    response = api.get("/ss/api/usage?to=0001-01-02")
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "0001-01-01T00:00:00Z"
    assert_error(api.get("/ss/api/usage?to=0001-01-01T00:00:00Z"), 400, "from")


@pytest.mark.parametrize(
    "email",
    [
        "plain",
        "@example.com",
        "alice@",
        "a@b@example.com",
        "al ice@example.com",
        "alice@exa\tmple.com",
        "alice@example.com\n",
        "x" * 243 + "@example.com",  # 255 characters
    ],
)
def test_an_email_that_breaks_the_rule_is_refused_wherever_it_is_read(api: Api, email: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"agent": email}), 400, "agent")
    response = api.post("/ss/api/sessions", json=session_body(agent=email))
    assert_error(response, 400, "sessions[0].agent")
    assert nothing_stored(api)


@pytest.mark.parametrize(
    "email", ["a@b", "x" * 242 + "@example.com", "o'brien+tag@example.co.uk", "ÄLICE@例え.jp"]
)
def test_an_email_within_the_rule_is_accepted(api: Api, email: str) -> None:
    assert len(email) <= 254
    api.import_sessions(session_body(agent=email))
    document = api.usage(**{"from": "2026-11-01", "to": "2026-11-03"}, agent=email)
    assert [s["agent"] for s in document["sessions"]] == [email.lower()]


query_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["from", "to", "agent", "limit", "cursor", "include", "format"]),
            query_values,
        ),
        max_size=4,
    )
)
def test_no_query_string_makes_a_500(api: Api, params: list[Any]) -> None:
    response = api.get("/ss/api/usage", params=params)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)


# ---- the one shape for what the framework and the parser refuse ----


def test_framework_errors_have_the_contract_shape(client: TestClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    assert_error(client.get("/nowhere", headers=headers), 404)
    assert_error(client.delete("/ss/api/usage", headers=headers), 405)
    assert_error(client.put("/ss/api/sessions", headers=headers), 405)


def test_a_body_over_10_mib_is_413_for_sessions_and_chunked_for_events(
    client: TestClient, tenant: Tenant
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}", "Content-Type": "application/json"}
    big = b'{"sessions": [' + b" " * (10 * MIB) + b"]}"
    assert_error(client.post("/ss/api/sessions", content=big, headers=headers), 413)

    def chunks() -> Iterator[bytes]:
        for _ in range(11):
            yield b" " * MIB

    response = client.post("/ss/api/events", content=chunks(), headers=headers)
    assert_error(response, 413)


def test_deeply_nested_json_is_a_400_not_a_500(client: TestClient, tenant: Tenant) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    body = b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    assert_error(client.post("/ss/api/events", content=body, headers=headers), 400, "body")


DEEP = "[" * 1000 + "]" * 1000  # within the parser's 1,024 levels, so it reaches the fields


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/ss/api/usage", f'{{"from": {DEEP}}}'),
        ("POST", "/ss/api/sessions", f'{{"id": "s", "agent": "a@b.co", "start": {DEEP}}}'),
        ("POST", "/ss/api/sessions", f'{{"id": "s", "agent": {DEEP}, "start": 1}}'),
        (
            "POST",
            "/ss/api/sessions",
            f'{{"id": "s", "agent": "a@b.co", "start": 1, "shares": [{{"at": 1, "type": "tab", "title": {DEEP}}}]}}',
        ),
        (
            "POST",
            "/ss/api/events",
            f'{{"events": [{{"id": "e", "type": "session.started", "session": "s", "at": {DEEP}, "agent": "a@b.co"}}]}}',
        ),
        (
            "POST",
            "/ss/api/events",
            f'{{"events": [{{"id": "e", "type": "viewer.joined", "session": "s", "at": 1, "viewer": "v", "location": {DEEP}}}]}}',
        ),
    ],
)
def test_a_deeply_nested_field_is_a_400_naming_it(
    client: TestClient, tenant: Tenant, method: str, path: str, body: str
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}", "Content-Type": "application/json"}
    response = client.request(method, path, content=body, headers=headers)
    error = assert_error(response, 400)
    assert error["parameter"] != "body"  # the field is named, as for any bad value
