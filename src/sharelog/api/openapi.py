"""Response models and the OpenAPI document: its side of the contract.

Responses are built with orjson, not validated through these models; they exist
so that ``/openapi.json`` documents every field a client can rely on. What a
route adds to its own operation (errors, conditional GETs, the parameters it
reads itself) is in ``api/operations.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from sharelog.api.bodies import SessionBatchBody, SessionBody
from sharelog.api.event_bodies import EventBatchBody


class ErrorDetail(BaseModel):
    code: Literal[
        "invalid_parameter",
        "unauthorized",
        "forbidden",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
        "rate_limited",
        "unavailable",
        "internal",
    ]
    message: str
    parameter: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Figures(BaseModel):
    meetings: int = Field(ge=0)
    seconds: int = Field(ge=0)


class Stats(BaseModel):
    total: Figures
    per_agent: dict[str, Figures]


class Share(BaseModel):
    at: str = Field(description="RFC 3339, UTC, whole seconds")
    type: Literal["screen", "window", "tab", "other"]
    title: str
    url: str | None


class LocationCount(BaseModel):
    country: str | None
    region: str | None
    city: str | None
    count: int = Field(ge=1)


class Viewers(BaseModel):
    count: int = Field(ge=0)
    peak: int = Field(ge=0, description="the most viewers watching at one instant")
    locations: list[LocationCount]


class Session(BaseModel):
    id: str
    agent: str
    agent_name: str | None = Field(description="the agent's name last received, or null")
    start: str
    end: str | None
    duration: int = Field(ge=0)
    shares: list[Share]
    viewers: Viewers
    webcam_seconds: int = Field(ge=0)


class UsageDocument(BaseModel):
    from_: str = Field(alias="from")
    to: str
    # Absent, never null, when not asked for: the schema says so (SkipJsonSchema).
    stats: Stats | SkipJsonSchema[None] = Field(None, description="absent with include=sessions")
    sessions: list[Session] | SkipJsonSchema[None] = Field(
        None, description="absent with include=stats"
    )
    next_cursor: str | None = Field(
        None, description="absent with include=stats; null on the last page"
    )


class Segment(BaseModel):
    joined: str
    left: str | None = Field(description="null while open")


class ViewerEntry(BaseModel):
    id: str
    joined: str
    left: str | None
    seconds: int = Field(ge=0)
    country: str | None
    region: str | None
    city: str | None
    segments: list[Segment]
    watched_seconds: int = Field(ge=0, description="the sum of the segments' whole lengths")
    browser: str | None
    os: str | None
    device: Literal["desktop", "mobile", "tablet", "bot", "other"] | None


class NewViewerInfo(BaseModel):
    viewer_count: int = Field(ge=0)
    max_viewer_count: int = Field(ge=0)
    locations: list[str] = Field(
        description="City, Country / Region, Country / Country; * when looked up from an ip"
    )


class NewSession(BaseModel):
    session_id: str
    email: str
    agent_name: str | None
    start_date: str
    end_date: str | None
    duration: int = Field(ge=0)
    session_ended: bool
    webcam_s: int = Field(ge=0)
    viewer_info: NewViewerInfo


class UsageNewDocument(BaseModel):
    sessions: list[NewSession]


class ViewersDetail(Viewers):
    # Annotated, not a default: a class attribute named list would hide the builtin.
    list: Annotated[
        list[ViewerEntry],
        Field(
            description="one entry per viewer, ordered by joined, then id; a page of them "
            "with viewers_limit or viewers_cursor"
        ),
    ]
    next_cursor: str | None = Field(
        None,
        description="present with viewers_limit or viewers_cursor only: the viewers_cursor "
        "of the next page, null on the last page",
    )


class SessionDetail(Session):
    viewers: ViewersDetail


class NameCount(BaseModel):
    name: str | None
    count: int = Field(ge=1)


class ClientSummary(BaseModel):
    peak: int = Field(ge=0, description="the highest peak of the window's sessions")
    browsers: list[NameCount]
    systems: list[NameCount]
    devices: list[NameCount]


class IngestReply(BaseModel):
    received: int
    created: int
    replaced: int


class ServiceStatus(BaseModel):
    status: Literal["ok", "ready"]


class EventsReply(BaseModel):
    received: int
    accepted: int
    duplicates: int
    over_limit: int | SkipJsonSchema[None] = Field(
        None,
        description="present when some accepted events were not applied: they would have "
        "taken a session past 1,000 shares or 1,000 viewers",
    )


class Change(BaseModel):
    seq: int
    change: Literal["updated", "deleted"]
    changed: str
    id: str
    session: SessionDetail | None


class ChangesPage(BaseModel):
    changes: list[Change]
    next: str
    has_more: bool


class DeletedCount(BaseModel):
    deleted: int


class AccountInfo(BaseModel):
    id: int
    name: str
    created: str
    retention_days: int | None


class KeyEntry(BaseModel):
    prefix: str
    scope: Literal["read", "write", "admin"]
    created: str
    revoked: str | None
    last_used: str | None = Field(description="to the minute")


class KeyList(BaseModel):
    keys: list[KeyEntry]


class CreatedKey(BaseModel):
    key: str = Field(description="shown only in this answer")
    prefix: str
    scope: Literal["read", "write", "admin"]
    created: str


class AuditEntry(BaseModel):
    at: str
    key: str = Field(description="the display prefix of the key used, or cli")
    action: str
    target: str


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None


class Webhook(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: str | None
    created: str


class WebhookWithSecret(Webhook):
    secret: str = Field(description="whsec_ and base64; shown only on creation and rotation")


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class QueuedMessage(BaseModel):
    id: str


class MessageEntry(BaseModel):
    id: str
    type: str
    created: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt: str | None
    last_status_code: int | None
    last_error: str | None


class MessagePage(BaseModel):
    messages: list[MessageEntry]
    next_cursor: str | None


class ReplayReply(BaseModel):
    queued: int


def install_openapi(app: FastAPI) -> None:
    """OpenAPI 3.1 with the body schemas that routes reference by hand."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (SessionBatchBody, SessionBody, EventBatchBody):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            document["components"]["securitySchemes"] = {
                "basicKey": {"type": "http", "scheme": "basic"},
                "bearerKey": {"type": "http", "scheme": "bearer"},
            }
            document["security"] = [{"basicKey": []}, {"bearerKey": []}]
            _drop_framework_422(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _drop_framework_422(document: dict[str, Any]) -> None:
    """FastAPI documents a 422 for every route with parameters; sharelog answers
    a bad request with a 400 in its own error format, never a 422."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
