"""The change feed, client side: pages of changes and the position after them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from sharelog.client._exceptions import ProtocolError

CHANGES_PATH = "/ss/api/changes"
# Long enough for the server's longest hold (30 s) and a slow answer after it.
LONG_POLL_TIMEOUT = 90.0


@dataclass(frozen=True, slots=True)
class ChangesPage:
    """One answer of ``GET /ss/api/changes``: apply ``changes``, then keep ``next``."""

    changes: list[dict[str, Any]]
    next: str
    has_more: bool

    @classmethod
    def from_json(cls, data: Any) -> ChangesPage:
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("changes"), list)
            or not isinstance(data.get("next"), str)
        ):
            raise ProtocolError("not a change-feed page: changes and next are missing")
        return cls(data["changes"], data["next"], bool(data.get("has_more")))


def changes_params(since: str | None, limit: int | None, wait: float) -> dict[str, str]:
    params = {}
    if since is not None:
        params["since"] = since
    if limit is not None:
        params["limit"] = str(limit)
    if wait:
        params["wait"] = f"{wait:g}"
    return params


def iter_feed(
    fetch: Callable[[str | None, float], ChangesPage],
    since: str | None,
    *,
    follow: bool,
    wait: float,
) -> Iterator[ChangesPage]:
    """Pages until the feed is caught up; with ``follow``, long polls after that, forever."""
    caught_up = False
    while True:
        page = fetch(since, wait if caught_up else 0.0)
        yield page
        since = page.next
        caught_up = not page.has_more
        if caught_up and not follow:
            return


def timeout_for(wait: float) -> httpx.Timeout:
    return httpx.Timeout(LONG_POLL_TIMEOUT + wait)
