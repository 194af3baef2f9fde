"""The service endpoints: /healthz, /readyz, /openapi.json, /docs and /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store.database import Database
from tests.api.test_errors import assert_error
from tests.conftest import Api, session_body

# Every endpoint of the contract, as (method, OpenAPI path).
CONTRACT_OPERATIONS = [
    ("get", "/ss/api/usage"),
    ("get", "/ss/api/sessions/{session_id}"),
    ("post", "/ss/api/sessions"),
    ("post", "/ss/api/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
]
SAMPLE = re.compile(
    r"[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\",?)*\})? -?[0-9.e+Inf]+"
)


@pytest.fixture
def broken_client(tmp_path: Path) -> Iterator[TestClient]:
    """The app over a "database" that cannot be opened (a directory)."""
    db = Database(f"sqlite:///{tmp_path}")
    app = create_app(Settings(database_url=db.url), database=db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    db.dispose()


def test_healthz_answers_without_a_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_even_when_the_database_does_not(broken_client: TestClient) -> None:
    assert broken_client.get("/healthz").status_code == 200


def test_readyz_is_200_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_does_not_answer(broken_client: TestClient) -> None:
    assert_error(broken_client.get("/readyz"), 503)


def test_an_api_request_without_a_database_is_503_not_500(broken_client: TestClient) -> None:
    headers = {"Authorization": "Basic slk_0000000000000000000000000000000000"}
    assert_error(broken_client.get("/ss/api/usage", headers=headers), 503)
    response = broken_client.post("/ss/api/sessions", json=session_body(), headers=headers)
    assert_error(response, 503)


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_openapi_is_version_3_1_and_needs_no_key(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]


@pytest.mark.parametrize(("method", "path"), CONTRACT_OPERATIONS)
def test_openapi_documents_every_endpoint_with_a_response_schema(
    document: dict[str, Any], method: str, path: str
) -> None:
    operation = document["paths"][path][method]
    content = operation["responses"]["200"]["content"]
    assert content
    for media in content.values():
        schema = resolve(document, media["schema"])
        assert schema.get("type") or schema.get("properties") or schema.get("anyOf"), (path, schema)


def test_openapi_documents_every_route_the_app_serves(
    client: TestClient, document: dict[str, Any]
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = min(code for code in operation["responses"] if code.startswith("2"))
            if success == "204":  # no content, by definition
                assert "content" not in operation["responses"][success], (method, path)
                continue
            content = operation["responses"][success].get("content", {})
            assert content, (method, path)
            for media in content.values():
                assert resolve(document, media["schema"]), (method, path)


def test_openapi_usage_schema_names_the_contract_fields(document: dict[str, Any]) -> None:
    usage = resolve(
        document,
        document["paths"]["/ss/api/usage"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"],
    )
    assert {"from", "to", "stats", "sessions", "next_cursor"} <= set(usage["properties"])
    session = document["components"]["schemas"]["Session"]
    assert {"id", "agent", "start", "end", "duration", "shares", "viewers"} <= set(
        session["properties"]
    )
    detail = document["components"]["schemas"]["ViewerEntry"]
    assert set(detail["properties"]) == {
        "id",
        "joined",
        "left",
        "seconds",
        "country",
        "region",
        "city",
        "segments",
        "watched_seconds",
        "browser",
        "os",
        "device",
    }
    assert {"agent_name", "webcam_seconds"} <= set(session["properties"])
    parameters = {p["name"] for p in document["paths"]["/ss/api/usage"]["get"]["parameters"]}
    assert {"from", "to", "agent", "limit", "cursor", "include", "format"} <= parameters
    # The window's parameters are documented by hand (api/openapi.py), not from
    # the routes' signatures: each route that takes them says so.
    for path in ("/ss/api/usage_new", "/ss/api/usage/clients", "/ss/api/usage/daily"):
        described = document["paths"][path]["get"]["parameters"]
        assert {"from", "to", "agent"} <= {p["name"] for p in described}
        agent = next(p for p in described if p["name"] == "agent")
        assert agent["in"] == "query" and agent["required"] is False
        assert {"items": {"type": "string"}, "type": "array"} in agent["schema"]["anyOf"]


def test_openapi_documents_the_error_shape_and_the_request_bodies(document: dict[str, Any]) -> None:
    error = resolve(
        document,
        document["paths"]["/ss/api/usage"]["get"]["responses"]["400"]["content"][
            "application/json"
        ]["schema"],
    )
    assert set(error["properties"]) == {"error"}
    post = document["paths"]["/ss/api/sessions"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]
    assert {"id", "agent", "start", "end", "shares", "viewers"} <= set(
        document["components"]["schemas"]["SessionBody"]["properties"]
    )
    assert set(document["components"]["securitySchemes"]) >= {"basicKey", "bearerKey"}


def test_openapi_lists_the_400_the_api_sends_and_no_framework_422(
    document: dict[str, Any],
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "422" not in operation["responses"], (method, path)
            if path.startswith("/ss/api/"):
                assert "400" in operation["responses"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_docs_is_an_interactive_page_over_the_openapi_document(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in page.text
    # Its scripts come from this server, so the page works with no network.
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_metrics_is_prometheus_text_and_counts_requests(api: Api) -> None:
    api.import_sessions(session_body())
    api.get("/ss/api/usage")
    api.get("/ss/api/sessions/missing")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert response.text.endswith("\n")
    for line in lines:
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.fullmatch(line), (
            line
        )
    text = response.text
    assert "# TYPE sharelog_http_requests_total counter" in text
    assert re.search(
        r'sharelog_http_requests_total\{method="GET",route="/ss/api/usage",status="200"\} 1(\.0)?\n',
        text,
    )
    assert re.search(
        r'sharelog_http_requests_total\{method="GET",route="/ss/api/sessions/\{session_id\}",'
        r'status="404"\} 1(\.0)?\n',
        text,
    )
    assert "sharelog_sessions_created_total 1" in text


def _allows_null(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = resolve(document, schema)
    options = schema.get("anyOf", [schema])
    return any(resolve(document, o).get("type") == "null" for o in options)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"include": "stats"},
        {"include": "sessions"},
        {"include": "stats,sessions", "limit": "1"},
        {"include": "sessions", "limit": "5"},
    ],
)
def test_the_usage_schema_describes_what_is_really_sent(
    api: Api, document: dict[str, Any], params: dict[str, str]
) -> None:
    """Fields the server leaves out are optional, never described as null; a null sent
    (next_cursor on the last page, end while ongoing) is one the schema allows."""
    api.import_sessions(session_body("a"), session_body("b", end=None))
    body = api.usage(**{"from": "2026-11-01", "to": "2026-11-30"}, **params)
    schema = resolve(
        document,
        document["paths"]["/ss/api/usage"]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"],
    )
    properties = schema["properties"]
    assert set(body) <= set(properties)
    assert set(schema.get("required", [])) <= set(body)
    for name in ("stats", "sessions"):
        assert not _allows_null(document, properties[name]), name
    for name, value in body.items():
        if value is None:
            assert _allows_null(document, properties[name]), name
    session = document["components"]["schemas"]["Session"]["properties"]
    for s in body.get("sessions", []):
        for name, value in s.items():
            if value is None:
                assert _allows_null(document, session[name]), name
