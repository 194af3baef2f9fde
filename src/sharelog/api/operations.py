"""What a route adds to its operation in the OpenAPI document, besides its response
model: its error answers, the conditional GET's header and 304, and the query
parameters of the routes that read ``request.query_params`` themselves."""

from __future__ import annotations

from typing import Any

from sharelog.api.openapi import ErrorBody


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


def json_error(description: str) -> dict[str, Any]:
    """An error answer of a route whose own answers are not JSON: ``model`` would file
    the error body under the route's media type."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("invalid_parameter: a parameter or body field is not acceptable"),
    401: _error("unauthorized: no key, an unknown key or a revoked key"),
    403: _error("forbidden: the key's scope does not cover this endpoint"),
    404: _error("not_found"),
    413: _error("payload_too_large: body over 10 MiB"),
    429: _error("rate_limited: see Retry-After"),
    503: _error("unavailable: the database cannot be reached"),
}
GONE: dict[int | str, dict[str, Any]] = {
    410: _error("gone: a change token older than the deletions the server keeps"),
}


_VALIDATOR_HEADERS = {
    "ETag": {
        "description": "A weak validator of this answer, for If-None-Match; absent when the "
        "answer changes with the clock (a window that ends now, a session still going on).",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`private, no-cache`: per key, revalidate before reuse.",
        "schema": {"type": "string"},
    },
}
# The conditional GETs (sharelog.api.conditional), as each route's openapi_extra:
# merged into the operation FastAPI builds.
CONDITIONAL_GET: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": "ETags of answers the client holds (or `*`): 304 when the "
            "answer is still one of them.",
            "schema": {"type": "string"},
        }
    ],
    "responses": {
        "200": {"headers": _VALIDATOR_HEADERS},
        "304": {
            "description": "Not Modified: the answer is still the one If-None-Match names; "
            "no body.",
            "headers": _VALIDATOR_HEADERS,
        },
    },
}


def query_parameter(name: str, description: str, *, repeatable: bool = False) -> dict[str, Any]:
    """An optional string query parameter (a list when ``repeatable``), as FastAPI
    documents one declared ``str | None = Query(...)`` in a route's signature."""
    value: dict[str, Any] = {"type": "string"}
    if repeatable:
        value = {"items": value, "type": "array"}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {
            "anyOf": [value, {"type": "null"}],
            "description": description,
            "title": name.title(),
        },
        "description": description,
    }


# The query parameters of the routes that read ``request.query_params`` themselves
# (usage's, daily's): documented here rather than declared in their signatures,
# where FastAPI validated them on every request for nothing (a sixth of the event
# loop's time on an empty usage page; docs/performance.md).
FROM = query_parameter("from", "Window start (inclusive).")
TO = query_parameter("to", "Window end (exclusive); default now.")
AGENT = query_parameter("agent", "Only these agents (repeatable).", repeatable=True)
USAGE_PARAMETERS = [
    FROM,
    TO,
    AGENT,
    query_parameter("limit", "Page size, 1 to 10000."),
    query_parameter("cursor", "next_cursor of the previous page."),
    query_parameter("include", "Comma list of stats, sessions."),
    query_parameter("format", "json (default), ndjson or csv."),
]


def documented(parameters: list[dict[str, Any]], *, conditional: bool) -> dict[str, Any]:
    """A route's openapi_extra: its query parameters, then (``conditional``) the
    conditional GET's header and answers."""
    if not conditional:
        return {"parameters": list(parameters)}
    return {
        **CONDITIONAL_GET,
        "parameters": [*parameters, *CONDITIONAL_GET["parameters"]],
    }
