"""What a ``GET /ss/api/usage`` asks for, parsed and checked before any query runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import Headers, QueryParams

from sharelog.api.params import (
    body_window,
    choice_list,
    email_param,
    int_param,
    single,
    timestamp_param,
)
from sharelog.api.signing import Signer
from sharelog.domain import UsageQuery
from sharelog.errors import InvalidParameter
from sharelog.limits import MAX_USAGE_LIMIT
from sharelog.timestamps import MAX_US, MIN_US, US_PER_SECOND

DEFAULT_WINDOW_US = 28 * 86_400 * 1_000_000
MAX_LIMIT = MAX_USAGE_LIMIT
FORMATS = ("json", "ndjson", "csv")
_BY_MEDIA_TYPE = {
    "application/json": "json",
    "application/*": "json",
    "*/*": "json",
    "application/x-ndjson": "ndjson",
    "text/csv": "csv",
}
INCLUDE = ("stats", "sessions")
_CURSOR_KIND = "usage-cursor"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position in one window: the last session sent, ``(start_us, id)``."""

    from_us: int
    to_us: int
    agents: tuple[str, ...]
    start_us: int
    session_id: str

    def encode(self, signer: Signer, account_id: int) -> str:
        payload = orjson.dumps(
            [self.from_us, self.to_us, list(self.agents), self.start_us, self.session_id]
        )
        return signer.seal(_CURSOR_KIND, account_id, payload)

    @classmethod
    def decode(cls, text: str, signer: Signer, account_id: int) -> Cursor:
        try:
            payload = signer.open(_CURSOR_KIND, account_id, text)
            if payload is None:
                raise ValueError("bad tag")
            f, t, agents, start, sid = orjson.loads(payload)
            # Should the secret leak, a forged cursor must still hold only what
            # the server could have written, or it would reach the database.
            instants = (f, t, start)
            if not all(type(x) is int and MIN_US <= x <= MAX_US for x in instants) or f >= t:
                raise ValueError("instant out of range")
            if type(sid) is not str or type(agents) is not list:
                raise ValueError("malformed")
            if not all(type(a) is str for a in agents):
                raise ValueError("malformed agents")
            return cls(f, t, tuple(agents), start, sid)
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise InvalidParameter("cursor", "not a cursor this server made") from None


@dataclass(frozen=True, slots=True)
class UsageRequest:
    query: UsageQuery
    include: frozenset[str]
    format: str
    limit: int | None
    after: tuple[int, str] | None


def _format(params: QueryParams, headers: Headers) -> str:
    given = single(params, "format")
    if given is not None:
        if given not in FORMATS:
            raise InvalidParameter("format", f"must be one of {', '.join(FORMATS)}, got {given!r}")
        return given
    # The client's most preferred media type (by q, then by order) that we can
    # answer decides; none that we can answer means JSON.
    offers = []
    for position, item in enumerate(headers.get("accept", "").split(",")):
        media_type, *options = (part.strip().lower() for part in item.split(";"))
        chosen = _BY_MEDIA_TYPE.get(media_type)
        if chosen is not None:
            offers.append((-_quality(options), position, chosen))
    best = min(offers, default=(0.0, 0, "json"))
    return best[2] if best[0] < 0 else "json"


def _quality(options: list[str]) -> float:
    for option in options:
        name, _, value = option.partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                return 1.0
            return q if 0.0 <= q <= 1.0 else 1.0
    return 1.0


def parse_usage_request(
    params: QueryParams,
    headers: Headers,
    body: dict[str, Any] | None,
    now_us: int,
    cursors: tuple[Signer, int],
) -> UsageRequest:
    """Apply the contract's defaults and checks; raise InvalidParameter naming the culprit."""
    values: dict[str, int | None] = {}
    for name in ("from", "to"):
        raw: object = single(params, name)
        if raw is None:
            raw = body_window(body, name)
        values[name] = None if raw is None else timestamp_param(name, raw)
    agents = tuple(sorted({email_param("agent", a) for a in params.getlist("agent")}))

    limit_text = single(params, "limit")
    limit = None if limit_text is None else int_param("limit", limit_text, 1, MAX_LIMIT)
    fmt = _format(params, headers)
    include_text = single(params, "include")
    include = (
        frozenset(INCLUDE)
        if include_text is None
        else choice_list("include", include_text, INCLUDE)
    )
    # Exports carry sessions only: asking them for stats is an error, asking
    # for sessions is what they do anyway.
    if fmt != "json" and include_text is not None and "stats" in include:
        raise InvalidParameter("include", f"format={fmt} has no stats")

    after = None
    cursor_text = single(params, "cursor")
    if cursor_text is not None:
        cursor = Cursor.decode(cursor_text, *cursors)
        for name, mine in (("from", cursor.from_us), ("to", cursor.to_us)):
            given = values[name]
            # The window as a response wrote it (whole seconds) is the same
            # window: a client may echo a defaulted window back with the cursor.
            if given is not None and given not in (mine, mine - mine % US_PER_SECOND):
                raise InvalidParameter(name, "differs from the cursor's window")
        if params.getlist("agent") and agents != cursor.agents:
            raise InvalidParameter("agent", "differs from the cursor's agents")
        values["from"], values["to"], agents = cursor.from_us, cursor.to_us, cursor.agents
        after = (cursor.start_us, cursor.session_id)

    to_us = values["to"] if values["to"] is not None else now_us
    # The default window stops at the earliest instant a response can write (year 1).
    from_us = (
        values["from"] if values["from"] is not None else max(MIN_US, to_us - DEFAULT_WINDOW_US)
    )
    if from_us >= to_us:
        raise InvalidParameter("from", "must be before to")
    return UsageRequest(
        query=UsageQuery(from_us=from_us, to_us=to_us, agents=agents, now_us=now_us),
        include=include,
        format=fmt,
        limit=limit,
        after=after,
    )
