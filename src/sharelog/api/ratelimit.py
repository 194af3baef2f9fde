"""Token buckets, per API key and per client address, in this process's memory.

With several worker processes each counts on its own: a key gets up to N
times its limit across N processes. ``SHARELOG_REDIS_URL`` shares the per-key
limit instead (``sharelog.api.shared_ratelimit``).
"""

from __future__ import annotations

import math
import threading
import time

from sharelog.errors import RateLimited

# Buckets idle this long are full again and can be forgotten.
_IDLE_SECONDS = 120.0
_MAX_BUCKETS = 100_000


class RateLimiter:
    """``per_minute`` requests a minute for each name, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, what: str) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.what = what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _level(self, name: str, now: float) -> float:
        tokens, updated = self._buckets.get(name, (self.capacity, now))
        return min(self.capacity, tokens + (now - updated) * self.rate)

    def wait_seconds(self, name: str) -> int:
        """Whole seconds until ``name`` may go again; 0 when it may go now."""
        with self._lock:
            level = self._level(name, time.monotonic())
        return 0 if level >= 1 else max(1, math.ceil((1 - level) / self.rate))

    async def acquire(self, name: str) -> None:
        """``take``, with the shared limiter's signature."""
        self.take(name)

    def take(self, name: str) -> None:
        """Count one request of ``name``; raise RateLimited when it has none left."""
        now = time.monotonic()
        with self._lock:
            level = self._level(name, now)
            if level < 1:
                wait = max(1, math.ceil((1 - level) / self.rate))
                raise RateLimited(f"too many {self.what}; retry in {wait} s", retry_after=wait)
            self._buckets[name] = (level - 1, now)
            if len(self._buckets) > _MAX_BUCKETS:
                self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        for name, (_, updated) in list(self._buckets.items()):
            if now - updated > _IDLE_SECONDS:
                del self._buckets[name]
