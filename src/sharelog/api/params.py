"""Query parameters, read by hand: the contract's rules (a repeated single-valued
parameter is a 400, every timestamp spelling, emails) are stricter than a
framework's defaults, and each failure must name its parameter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import QueryParams

from sharelog.errors import InvalidParameter
from sharelog.limits import MAX_EMAIL
from sharelog.timestamps import TimestampError, parse_timestamp


def single(params: QueryParams, name: str) -> str | None:
    """The one value of a single-valued parameter, or None when absent."""
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidParameter(name, "given more than once")
    return values[0] if values else None


def timestamp_param(name: str, value: object) -> int:
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise InvalidParameter(name, str(exc)) from None


def check_email(value: str) -> str:
    """Exactly one ``@`` with something on both sides, no whitespace, at most 254 characters.

    Returns the email lowercased; raises ValueError with the reason otherwise. The
    length is that of the lowercased email, the one kept and reported: a few
    characters grow when lowercased (``"İ".lower()`` is two).
    """
    lowered = value.lower()
    if len(value) > MAX_EMAIL or len(lowered) > MAX_EMAIL:
        raise ValueError(f"not an email (longer than {MAX_EMAIL} characters)")
    local, at, domain = value.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise ValueError(f"not an email: {value!r}")
    if any(c.isspace() for c in value) or "\x00" in value:
        raise ValueError(f"not an email (contains whitespace): {value!r}")
    return lowered


def email_param(name: str, value: str) -> str:
    try:
        return check_email(value)
    except ValueError as exc:
        raise InvalidParameter(name, str(exc)) from None


def int_param(name: str, value: str, low: int, high: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise InvalidParameter(name, f"not a whole number: {value!r}")
    # int() refuses text of over 4,300 digits: leading zeros go first, and a number
    # with more digits than the bound is past it.
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        raise InvalidParameter(name, f"must be from {low} to {high}, got {digits[:20]}...")
    number = int(digits)
    if not low <= number <= high:
        raise InvalidParameter(name, f"must be from {low} to {high}, got {number}")
    return number


def choice_list(name: str, value: str, allowed: tuple[str, ...]) -> frozenset[str]:
    items = [item.strip() for item in value.split(",")]
    if not value or any(item not in allowed for item in items):
        raise InvalidParameter(name, f"must be a comma list of {', '.join(allowed)}, got {value!r}")
    return frozenset(items)


def body_window(body: Mapping[str, Any] | None, name: str) -> object | None:
    """``from``/``to`` given in a GET's JSON body (CrankWheel's published examples do so)."""
    if body is None:
        return None
    return body.get(name)
