"""The per-key rate limit shared by every API process through Redis.

One token bucket per key in a Redis hash, updated by one Lua script: one round
trip a request, atomic across processes, timed by Redis's clock (the
processes' clocks never meet). When Redis cannot be reached the request goes
through: a rate limit protects the service, and refusing everybody because
the counter is down would be the outage it exists to prevent. Each such pass
is counted in /metrics (``sharelog_ratelimit_redis_errors_total``) and logged
(at most once every 10 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.asyncio as redis_asyncio
from redis.exceptions import RedisError

from sharelog.api.metrics import Metrics
from sharelog.errors import RateLimited

log = logging.getLogger("sharelog.ratelimit")

# KEYS[1] the bucket; ARGV capacity, refill per second. Returns {allowed, wait_s}.
_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return {allowed, wait}
"""

_WARN_EVERY_S = 10.0
# A request waits at most this long for Redis before going through unlimited.
_TIMEOUT_S = 0.5


class SharedRateLimiter:
    """``per_minute`` requests a minute for each name, in bursts of up to ``per_minute``."""

    def __init__(self, url: str, per_minute: int, what: str, metrics: Metrics) -> None:
        self.url = url
        self.capacity = per_minute
        self.rate = per_minute / 60.0
        self.what = what
        self.metrics = metrics
        self._client: Any = None
        self._script: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._warned = -_WARN_EVERY_S

    def _bucket_script(self) -> Any:
        # A client's connections belong to the event loop that opened them: one
        # client per loop (one loop in a server; tests may run several).
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client = redis_asyncio.Redis.from_url(
                self.url, socket_timeout=_TIMEOUT_S, socket_connect_timeout=_TIMEOUT_S
            )
            self._script = self._client.register_script(_BUCKET)
            self._loop = loop
        return self._script

    async def acquire(self, name: str) -> None:
        """Count one request of ``name``; raise RateLimited when it has none left."""
        try:
            allowed, wait = await self._bucket_script()(
                keys=[f"sharelog:ratelimit:{name}"], args=[self.capacity, self.rate]
            )
        except (RedisError, OSError) as exc:
            self.metrics.count("ratelimit_redis_errors_total")
            now = time.monotonic()
            if now - self._warned >= _WARN_EVERY_S:
                self._warned = now
                log.warning("rate limit not applied, Redis unavailable: %s", exc)
            return
        if not int(allowed):
            wait = max(1, int(wait))
            raise RateLimited(f"too many {self.what}; retry in {wait} s", retry_after=wait)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
            self._loop = None
