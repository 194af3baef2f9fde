"""A hand-written reader for well-formed events: the common case, without Pydantic.

It accepts only what the Pydantic models of ``event_bodies`` accept, and
answers None for anything else, unusual or wrong; the caller then validates
with the models, which name the first bad field. So this module can only make
a valid batch faster, never let an invalid one through:
tests/api/test_event_fastpath.py holds it to the models on generated input.

Why: validating a 1,000-event batch through the models and converting it
cost ~5 us an event, a third of the ingestion time on SQLite; this costs ~1.5.
"""

from __future__ import annotations

import re
from typing import Any

from sharelog.api.params import check_email
from sharelog.domain import SHARE_TYPES, EventIn, Location
from sharelog.geo.locator import parse_ip
from sharelog.limits import (
    MAX_AGENT_NAME,
    MAX_EMAIL,
    MAX_ID,
    MAX_PLACE,
    MAX_TITLE,
    MAX_URL,
    MAX_USER_AGENT,
)
from sharelog.timestamps import MAX_US, MIN_US, US_PER_SECOND, TimestampError, parse_timestamp

# Every id of a batch, each followed by a newline (not an id character), is
# checked by one match: a match per id cost a fifth of the reader's time.
_IDS = re.compile(rf"(?:[A-Za-z0-9._:\-]{{1,{MAX_ID}}}\n)*")
_NO_FIELD_TYPES = ("session.ended", "webcam.started", "webcam.stopped")
# A location of a country alone (``{"country": "IS"}``), the usual one, as given
# (any case) to its one Location (immutable, so shared): each join built its own.
_COUNTRIES: dict[str, Location] = {}
_MAX_COUNTRIES = 4096
# An email of printable ASCII, one @ with something on both sides: lowercasing
# it cannot change its length, so check_email's other rules hold at once.
_PLAIN_EMAIL = re.compile(r"[!-?A-~]+@[!-?A-~]+")


class _NotPlain(Exception):
    """The item needs the full validation."""


def _text(value: Any, limit: int) -> str:
    if type(value) is not str or len(value) > limit or "\x00" in value:
        raise _NotPlain
    return value


def _optional_text(item: dict[str, Any], name: str, limit: int) -> str | None:
    value = item.get(name)
    return None if value is None else _text(value, limit)


def _location(value: Any) -> Location | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise _NotPlain
    country: Any = value.get("country")
    alone = len(value) == 1 and type(country) is str
    if alone:
        found = _COUNTRIES.get(country)
        if found is not None:
            return found
    if country is not None:
        if (
            type(country) is not str
            or len(country) != 2
            or not country.isascii()
            or not country.isalpha()
        ):
            raise _NotPlain
        country = country.upper()
    location = Location(
        country=country,
        region=_optional_text(value, "region", MAX_PLACE),
        city=_optional_text(value, "city", MAX_PLACE),
    )
    if alone and len(_COUNTRIES) < _MAX_COUNTRIES:
        _COUNTRIES[value["country"]] = location
    return location


def _event(item: Any, ids: list[Any]) -> EventIn:
    """The event, once ``ids`` (which gets its ids) is checked too.

    A field every event has is read by subscript (a missing one is a KeyError,
    which asks for the full validation): a third faster than ``get``.
    """
    if type(item) is not dict:
        raise _NotPlain
    # Any: not checked yet; read_plain_events checks the ids all at once.
    event_id: Any = item["id"]
    session: Any = item["session"]
    kind = item["type"]
    at = item["at"]
    if type(at) is int:  # Unix seconds, the usual form: parse_timestamp's rule inline
        at_us = at * US_PER_SECOND
        if not MIN_US <= at_us <= MAX_US:
            raise _NotPlain
    else:
        if type(at) is not str and type(at) is not float:
            raise _NotPlain
        try:
            at_us = parse_timestamp(at)
        except TimestampError:
            raise _NotPlain from None
    # Viewer events first: they are most of a live product's events.
    if kind == "viewer.joined":
        viewer: Any = item["viewer"]
        ids += (event_id, session, viewer)
        ip = item.get("ip")
        if ip is not None and (type(ip) is not str or len(ip) > 45 or parse_ip(ip) is None):
            raise _NotPlain
        return EventIn(
            event_id,
            kind,
            session,
            at_us,
            viewer_id=viewer,
            ip=ip,
            location=_location(item.get("location")),
            user_agent=_optional_text(item, "user_agent", MAX_USER_AGENT),
        )
    if kind == "viewer.left":
        viewer = item["viewer"]
        ids += (event_id, session, viewer)
        return EventIn(event_id, kind, session, at_us, viewer_id=viewer)
    ids += (event_id, session)
    if kind == "session.started":
        agent = item["agent"]
        if type(agent) is not str:
            raise _NotPlain
        if len(agent) <= MAX_EMAIL and _PLAIN_EMAIL.fullmatch(agent):
            email = agent.lower()
        else:
            try:
                email = check_email(agent)
            except ValueError:
                raise _NotPlain from None
        return EventIn(
            event_id,
            kind,
            session,
            at_us,
            agent=email,
            agent_name=_optional_text(item, "agent_name", MAX_AGENT_NAME),
        )
    if kind in _NO_FIELD_TYPES:
        return EventIn(event_id, kind, session, at_us)
    if kind == "share.started":
        share_type = item["share_type"]
        if share_type not in SHARE_TYPES or type(share_type) is not str:
            raise _NotPlain
        title = item.get("title")
        return EventIn(
            event_id,
            kind,
            session,
            at_us,
            share_type=share_type,
            title="" if title is None else _text(title, MAX_TITLE),
            url=_optional_text(item, "url", MAX_URL),
        )
    raise _NotPlain


def read_plain_events(items: list[Any]) -> list[EventIn] | None:
    """Every item as an event when each is plainly valid; None to ask for full validation."""
    ids: list[Any] = []
    try:
        events = [_event(item, ids) for item in items]
        checked = "\n".join(ids) + "\n"  # a TypeError when an id is not a string
    except (_NotPlain, KeyError, TypeError):
        return None
    # The count rejects an id that itself holds a newline, which the pattern would split.
    plain = checked.count("\n") == len(ids) and _IDS.fullmatch(checked) is not None
    return events if plain else None
