"""Request bodies: Pydantic models that validate them and document them.

Validation goes one item at a time so that the error names the *first* bad
field in document order (``sessions[3].end``), and a request with any bad item
writes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from sharelog.api.params import check_email
from sharelog.domain import Location, SessionIn, ShareIn, ViewerIn
from sharelog.errors import InvalidParameter
from sharelog.geo.locator import parse_ip
from sharelog.limits import (
    ID_PATTERN,
    MAX_AGENT_NAME,
    MAX_EMAIL,
    MAX_ID,
    MAX_PLACE,
    MAX_SEGMENTS,
    MAX_SESSIONS_PER_REQUEST,
    MAX_SHARES,
    MAX_TITLE,
    MAX_URL,
    MAX_USER_AGENT,
    MAX_VIEWERS,
    MAX_WEBCAM_SECONDS,
)
from sharelog.timestamps import parse_timestamp


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it on every backend alike.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def _timestamp(value: object) -> int:
    return parse_timestamp(value)


def _email(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string (an email)")
    return check_email(value)


def _country(value: str) -> str:
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError(f"not a two-letter country code: {value!r}")
    return value.upper()


def _ip(value: str) -> str:
    if parse_ip(value) is None:
        raise ValueError(f"not an IP address: {value!r}")
    return value


def _null_as_empty(value: object) -> object:
    return "" if value is None else value


def _null_as_no_items(value: object) -> object:
    # Optional lists default to empty; null says the same.
    return [] if value is None else value


def _null_as_zero(value: object) -> object:
    # As every other optional field of an import: null is the same as absent.
    return 0 if value is None else value


Timestamp = Annotated[
    int,
    BeforeValidator(_timestamp),
    Field(json_schema_extra={"type": ["string", "number"], "format": "date-time or Unix seconds"}),
]
Identifier = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=MAX_ID)]
Email = Annotated[
    str,
    BeforeValidator(_email),
    Field(json_schema_extra={"type": "string", "format": "email", "maxLength": MAX_EMAIL}),
]
# Length first, then the NUL check: a constraint placed after a validator
# reports "Value should have at most 1000 items" for a string.
Text200 = Annotated[str, StringConstraints(max_length=MAX_PLACE), AfterValidator(_no_nul)]
AgentName = Annotated[str, StringConstraints(max_length=MAX_AGENT_NAME), AfterValidator(_no_nul)]
UserAgent = Annotated[str, StringConstraints(max_length=MAX_USER_AGENT), AfterValidator(_no_nul)]
Url = Annotated[str, StringConstraints(max_length=MAX_URL), AfterValidator(_no_nul)]
Title = Annotated[
    str,
    StringConstraints(max_length=MAX_TITLE),
    AfterValidator(_no_nul),
    BeforeValidator(_null_as_empty),  # last, so that it runs first
]
ShareType = Literal["screen", "window", "tab", "other"]


def _not_before(value: int | None, earlier: int | None, name: str) -> int | None:
    if value is not None and earlier is not None and value < earlier:
        raise ValueError(f"is before {name}")
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LocationBody(Model):
    country: Annotated[str, AfterValidator(_country)] | None = None
    region: Text200 | None = None
    city: Text200 | None = None


class ShareBody(Model):
    at: Timestamp
    type: ShareType
    title: Title = ""
    url: Url | None = None


class SegmentBody(Model):
    joined: Timestamp
    left: Timestamp | None = None

    @field_validator("left")
    @classmethod
    def _left_not_before_joined(cls, left: int | None, info: ValidationInfo) -> int | None:
        return _not_before(left, info.data.get("joined"), "joined")


def _not_overlapping(segments: list[SegmentBody] | None) -> list[SegmentBody] | None:
    """Segments may come in any order; sorted, each must end before (or where) the next begins."""
    if segments is None:
        return None
    ordered = sorted(segments, key=lambda s: (s.joined, s.left is None, s.left or 0))
    for before, after in itertools.pairwise(ordered):
        if before.left is None or before.left > after.joined:
            raise ValueError("segments overlap (an open one must be the last)")
    return ordered


class ViewerBody(Model):
    id: Identifier
    joined: Timestamp
    left: Timestamp | None = None
    ip: Annotated[str, AfterValidator(_ip), Field(max_length=45)] | None = None
    location: LocationBody | None = None
    segments: (
        Annotated[
            list[SegmentBody], Field(max_length=MAX_SEGMENTS), AfterValidator(_not_overlapping)
        ]
        | None
    ) = None
    user_agent: UserAgent | None = None

    # A field validator, not a check after the model: the error then comes in
    # document order, before any bad field that follows.
    @field_validator("left")
    @classmethod
    def _left_not_before_joined(cls, left: int | None, info: ValidationInfo) -> int | None:
        return _not_before(left, info.data.get("joined"), "joined")


class SessionBody(Model):
    id: Identifier
    agent: Email
    start: Timestamp
    end: Timestamp | None = None
    shares: Annotated[
        list[ShareBody], BeforeValidator(_null_as_no_items), Field(max_length=MAX_SHARES)
    ] = []
    viewers: Annotated[
        list[ViewerBody], BeforeValidator(_null_as_no_items), Field(max_length=MAX_VIEWERS)
    ] = []
    agent_name: AgentName | None = None
    webcam_seconds: Annotated[
        int, Field(strict=True, ge=0, le=MAX_WEBCAM_SECONDS), BeforeValidator(_null_as_zero)
    ] = 0

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, end: int | None, info: ValidationInfo) -> int | None:
        return _not_before(end, info.data.get("start"), "start")


class SessionBatchBody(Model):
    """The batch form; a single session object is also accepted."""

    sessions: Annotated[list[SessionBody], Field(min_length=1, max_length=MAX_SESSIONS_PER_REQUEST)]


def field_path(prefix: str, loc: Sequence[int | str]) -> str:
    """Pydantic's ``('viewers', 2, 'joined')`` as ``prefix.viewers[2].joined``."""
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"


def first_error(prefix: str, error: ValidationError) -> InvalidParameter:
    details = error.errors(include_url=False, include_context=False)[0]
    message = str(details["msg"]).removeprefix("Value error, ")
    return InvalidParameter(field_path(prefix, details["loc"]), message)


M = TypeVar("M", bound=BaseModel)


def validate_items(
    name: str,
    items: object,
    validate: Callable[[object], M],
    low: int,
    high: int,
    check: Callable[[str, M], None] | None = None,
) -> list[M]:
    """Validate a JSON array item by item, ``check`` included; raise for the first bad one."""
    if not isinstance(items, list):
        raise InvalidParameter(name, "must be an array")
    if not low <= len(items) <= high:
        raise InvalidParameter(name, f"must hold {low} to {high} items, got {len(items)}")
    result = []
    for index, item in enumerate(items):
        try:
            value = validate(item)
        except ValidationError as exc:
            raise first_error(f"{name}[{index}]", exc) from None
        if check is not None:
            check(f"{name}[{index}]", value)
        result.append(value)
    return result


_session_adapter = TypeAdapter(SessionBody)


def _check_session(path: str, s: SessionBody) -> None:
    seen: set[str] = set()
    for i, v in enumerate(s.viewers):
        if v.id in seen:
            raise InvalidParameter(f"{path}.viewers[{i}].id", f"repeats viewer id {v.id!r}")
        seen.add(v.id)


def location_of(body: LocationBody | None) -> Location | None:
    if body is None:
        return None
    return Location(country=body.country, region=body.region, city=body.city)


def to_session(s: SessionBody) -> SessionIn:
    return SessionIn(
        id=s.id,
        agent=s.agent,
        start_us=s.start,
        end_us=s.end,
        shares=[ShareIn(at_us=x.at, type=x.type, title=x.title, url=x.url) for x in s.shares],
        viewers=[
            ViewerIn(
                id=v.id,
                joined_us=v.joined,
                left_us=v.left,
                ip=v.ip,
                location=location_of(v.location),
                segments=None if v.segments is None else [(x.joined, x.left) for x in v.segments],
                user_agent=v.user_agent,
            )
            for v in s.viewers
        ],
        agent_name=s.agent_name,
        webcam_seconds=s.webcam_seconds,
    )


def parse_sessions_body(body: object) -> list[SessionIn]:
    """``{"sessions": [...]}`` or one session object, validated whole."""
    if not isinstance(body, dict):
        raise InvalidParameter("body", 'must be a JSON object: a session or {"sessions": [...]}')
    items = body.get("sessions", [body])
    parsed = validate_items(
        "sessions",
        items,
        _session_adapter.validate_python,
        1,
        MAX_SESSIONS_PER_REQUEST,
        _check_session,
    )
    return [to_session(s) for s in parsed]
