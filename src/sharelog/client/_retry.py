"""When to try a request again: 429 and 5xx gateways, with backoff and Retry-After."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

import httpx

from sharelog.client._exceptions import TransportError, error_for

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: whole seconds, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Retry:
    """How long to wait before attempt ``n``, or None to give up."""

    def __init__(self, retries: int, backoff: float, max_wait: float) -> None:
        self.retries, self.backoff, self.max_wait = retries, backoff, max_wait

    def delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        if attempt >= self.retries:
            return None
        if response is not None:
            asked = retry_after(response.headers.get("retry-after"))
            if asked is not None:
                return min(asked, self.max_wait)
        wait: float = self.backoff * 2**attempt * (1 + random.random() / 4)
        return min(wait, self.max_wait)

    def decide(
        self,
        attempt: int,
        what: str,
        response: httpx.Response | None = None,
        error: httpx.TransportError | None = None,
    ) -> tuple[httpx.Response | None, float]:
        """(the final response, 0) or (None, seconds to wait before trying again); raises
        TransportError or ApiError once there is nothing left to try."""
        if response is not None and response.status_code not in RETRY_STATUSES:
            return check(response), 0.0
        wait = self.delay(attempt, response)
        if wait is not None:
            return None, wait
        if response is not None:
            return check(response), 0.0
        raise TransportError(f"{what}: {error}") from error


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise error_for(response)
    return response
