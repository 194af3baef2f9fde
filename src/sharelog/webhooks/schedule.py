"""When a failed message is tried again: the contract's schedule, with jitter."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

from sharelog.timestamps import US_PER_SECOND

# After the 1st, 2nd, ... failed attempt; a message failing the 8th attempt is failed.
RETRY_SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
JITTER = 0.2


def retry_after_seconds(value: str | None, now_us: int) -> float | None:
    """``Retry-After`` as seconds from now: whole seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now_us / US_PER_SECOND)


def next_attempt_us(
    attempts_made: int,
    now_us: int,
    *,
    schedule: tuple[float, ...] = RETRY_SCHEDULE,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> int | None:
    """When to try again after ``attempts_made`` failed attempts; None when it is over.

    Each step gets up to 20% more (jitter, so that endpoints coming back are
    not hit by every message at once); a longer ``Retry-After`` (on a 429 or
    503) is honoured up to twice the step.
    """
    if attempts_made > len(schedule):
        return None
    step = schedule[attempts_made - 1]
    delay = step * (1 + (rng or random).uniform(0, JITTER))
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, 2 * step)
    return now_us + int(delay * US_PER_SECOND)
