"""The sender: claims due messages, posts them signed, writes back what happened.

It runs inside ``sharelog serve`` or alone as ``sharelog deliver``; any number
of them share one database (see ``store/outbox.py`` for the claims). Database
work runs in threads; HTTP is httpx async, with at most ``per_endpoint``
requests in flight to one endpoint and ``concurrency`` in all, so a slow
endpoint holds only its own share. Outcomes are written in batches: one
commit per attempt would cap SQLite at its fsync rate.

A sender claims more messages than it may have in flight and keeps the rest
ready, so that a finished request is followed by the next at once, not after
a claim's round trip and commit (which halved the rate on PostgreSQL). A ready
message starts only while its claim will outlast the attempt; a sender that
stops hands its ready messages back.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
from standardwebhooks import Webhook

from sharelog.store import outbox
from sharelog.store import webhooks as endpoint_store
from sharelog.store.database import Database
from sharelog.store.outbox import Claimed, Outcome
from sharelog.store.webhooks import Endpoint
from sharelog.timestamps import US_PER_SECOND, now_us
from sharelog.webhooks.addresses import (
    AddressRefused,
    Resolver,
    host_and_port,
    parse_url,
    resolve_async,
    system_resolver,
)
from sharelog.webhooks.outcomes import observe_attempt, write_outcomes
from sharelog.webhooks.schedule import RETRY_SCHEDULE, next_attempt_us, retry_after_seconds
from sharelog.webhooks.transport import make_client, read_at_most
from sharelog.webhooks.wakeup import wakeup

if TYPE_CHECKING:  # the API imports the sender: no import cycle at run time
    from sharelog.api.metrics import Metrics

log = logging.getLogger("sharelog.webhooks")

MAX_ANSWER_BYTES = 64 * 1024
# A sender holds claims on up to this many times the messages it may have in
# flight (the rest wait ready), so that the claim's round trip is hidden.
HELD = 4
# A claimed message waiting for a free slot, and when its claim runs out.
Ready = tuple[Endpoint, Claimed, int]
DISABLE_AFTER_US = 5 * 86_400 * US_PER_SECOND


@dataclass
class SenderOptions:
    allow_private: bool = False
    concurrency: int = 64
    per_endpoint: int = 8
    poll_seconds: float = 0.5
    timeout_seconds: float = 15.0
    # A claim outlives the longest attempt by far: only a dead or stalled sender
    # loses one (and a ready message starts only while its claim covers an attempt).
    lease_seconds: float = 60.0
    schedule: tuple[float, ...] = RETRY_SCHEDULE
    disable_after_us: int = DISABLE_AFTER_US
    resolver: Resolver = system_resolver
    clock: Any = field(default=now_us)
    # How often the outcome writer looks whether the sender is stopping.
    flush_seconds: float = 0.25
    claim_batch_seconds: float = 0.01


class Sender:
    def __init__(
        self, db: Database, options: SenderOptions | None = None, metrics: Metrics | None = None
    ) -> None:
        self.db = db
        self.options = options or SenderOptions()
        self.metrics = metrics
        self.token = "snd_" + secrets.token_urlsafe(12)
        self._rng = random.Random()
        self._in_flight: dict[tuple[int, str], int] = {}
        self._total = 0
        self._outcomes: list[Outcome] = []
        self._clients: dict[tuple[int, str], httpx.AsyncClient] = {}
        self._signers: dict[str, Webhook] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Claimed, not yet started: started as slots free up, in claim order.
        self._ready: collections.deque[Ready] = collections.deque()
        self._queued: dict[tuple[int, str], int] = {}
        self._slot_free = asyncio.Event()
        # Set when an attempt's outcome awaits writing.
        self._recorded = asyncio.Event()
        self._stopping = False
        self._turn = 0
        # Outcomes taken for a commit that has not finished yet.
        self._writing = 0

    # -- the loop ---------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        woken = wakeup.attach()
        flusher = asyncio.create_task(self._flush_loop(stop))
        try:
            while not stop.is_set():
                if self._total + len(self._ready) < HELD * self.options.concurrency:
                    await self._claim_and_start()
                waits = [
                    asyncio.create_task(stop.wait()),
                    asyncio.create_task(woken.wait()),
                    asyncio.create_task(self._slot_free.wait()),
                ]
                await asyncio.wait(
                    waits, timeout=self.options.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for task in waits:
                    task.cancel()
                woken.clear()
                self._slot_free.clear()
                # Let completions gather: one claim (one commit) for many free slots,
                # not one per finished request.
                await asyncio.sleep(self.options.claim_batch_seconds)
        finally:
            wakeup.detach()
            # Stopping: what is in flight finishes, nothing ready starts (it is handed back).
            self._stopping = True
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=self.options.timeout_seconds + 1)
            stop.set()
            await flusher
            await self._flush()
            await self._release_ready()
            for client in self._clients.values():
                await client.aclose()

    async def run_until_idle(self, *, timeout: float = 30.0) -> None:
        """For tests and tools: send until nothing is due or in flight, then stop."""
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            busy = self._tasks or self._ready or self._outcomes or self._writing
            if not busy and not await asyncio.to_thread(self._due):
                break
        stop.set()
        await runner

    def _due(self) -> bool:
        now = self.options.clock()
        with self.db.reading(primary=True) as conn:
            for endpoint in endpoint_store.enabled_endpoints(conn):
                due = outbox.next_due_us(conn, endpoint.account_id, endpoint.id)
                if due is not None and due <= now:
                    return True
        return False

    async def _claim_and_start(self) -> int:
        # Outcomes ride along in the claim's transaction: one commit for both.
        outcomes, self._outcomes = self._outcomes, []
        self._writing += 1
        try:
            claims, live, lease_until = await asyncio.to_thread(self._claim, outcomes)
        except Exception:
            self._outcomes[:0] = outcomes
            raise
        finally:
            self._writing -= 1
        for key in [k for k in self._clients if k not in live and not self._in_flight.get(k)]:
            await self._clients.pop(key).aclose()
        for endpoint, message in claims:
            key = (endpoint.account_id, endpoint.id)
            self._queued[key] = self._queued.get(key, 0) + 1
            self._ready.append((endpoint, message, lease_until))
        self._start_ready()
        return len(claims)

    def _start_ready(self) -> None:
        """Start ready messages while their endpoints and the sender have room."""
        if self._stopping:
            return
        options = self.options
        # A message starts only while its claim will outlast the attempt: one
        # whose lease would run out mid-attempt is left to be claimed again.
        now = options.clock()
        margin = int((options.timeout_seconds + 2) * US_PER_SECOND)
        waiting: collections.deque[Ready] = collections.deque()
        while self._ready and self._total < options.concurrency:
            endpoint, message, lease_until = self._ready.popleft()
            key = (endpoint.account_id, endpoint.id)
            if now + margin > lease_until:
                self._queued[key] -= 1
                continue
            if self._in_flight.get(key, 0) >= options.per_endpoint:
                waiting.append((endpoint, message, lease_until))
                continue
            self._queued[key] -= 1
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            self._total += 1
            task = asyncio.create_task(self._attempt(endpoint, message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        waiting.extend(self._ready)
        self._ready = waiting

    async def _release_ready(self) -> None:
        if not self._ready:
            return
        ready = [message for _, message, _ in self._ready]
        self._ready.clear()
        self._queued.clear()

        def release() -> None:
            with self.db.writing() as conn:
                outbox.release(conn, self.token, ready, self.options.clock())

        try:
            await asyncio.to_thread(release)
        except Exception:
            # Their leases run out instead, and another sender takes them then.
            log.exception("could not hand back %d claimed webhook messages", len(ready))

    def _claim(
        self, outcomes: list[Outcome]
    ) -> tuple[list[tuple[Endpoint, Claimed]], set[tuple[int, str]], int]:
        options = self.options
        now = options.clock()
        lease_until = now + int(options.lease_seconds * US_PER_SECOND)
        found: list[tuple[Endpoint, Claimed]] = []
        free = HELD * options.concurrency - self._total - len(self._ready)
        with self.db.writing() as conn:
            write_outcomes(conn, self.token, outcomes, options.clock(), options.disable_after_us)
            endpoints = endpoint_store.enabled_endpoints(conn)
            if not endpoints:
                return [], set(), lease_until
            # Start with another endpoint each time: no endpoint always goes first.
            self._turn = (self._turn + 1) % len(endpoints)
            for endpoint in endpoints[self._turn :] + endpoints[: self._turn]:
                key = (endpoint.account_id, endpoint.id)
                room = min(
                    free,
                    HELD * options.per_endpoint
                    - self._in_flight.get(key, 0)
                    - self._queued.get(key, 0),
                )
                if room <= 0:
                    continue
                for message in outbox.claim_due(
                    conn,
                    endpoint.account_id,
                    endpoint.id,
                    now_us=now,
                    lease_until_us=lease_until,
                    token=self.token,
                    limit=room,
                ):
                    found.append((endpoint, message))
                    free -= 1
                if free <= 0:
                    break
        return found, {(e.account_id, e.id) for e in endpoints}, lease_until

    # -- one attempt -------------------------------------------------------------

    def _client(self, endpoint: Endpoint) -> httpx.AsyncClient:
        key = (endpoint.account_id, endpoint.id)
        client = self._clients.get(key)
        if client is None:
            client = make_client(
                self.options.resolver, self.options.allow_private, self.options.per_endpoint
            )
            self._clients[key] = client
        return client

    def signature(self, endpoint: Endpoint, message_id: str, timestamp: int, body: str) -> str:
        moment = datetime.fromtimestamp(timestamp, UTC)
        signatures = []
        for secret in endpoint.secrets(timestamp * US_PER_SECOND):
            signer = self._signers.get(secret)
            if signer is None:
                signer = self._signers[secret] = Webhook(secret)
            signatures.append(signer.sign(message_id, moment, body))
        return " ".join(signatures)

    async def _attempt(self, endpoint: Endpoint, message: Claimed) -> None:
        started = time.perf_counter()
        now = self.options.clock()
        timestamp = now // US_PER_SECOND
        code: int | None = None
        error: str | None = None
        retry_after: str | None = None
        try:
            headers = {
                "content-type": "application/json",
                "webhook-id": message.id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": self.signature(endpoint, message.id, timestamp, message.body),
            }
            async with asyncio.timeout(self.options.timeout_seconds):
                parsed = parse_url(endpoint.url)
                host, port = host_and_port(parsed)
                # Checked again at every delivery; the transport connects only to checked addresses.
                await resolve_async(host, port, self.options.resolver, self.options.allow_private)
                client = self._client(endpoint)
                async with client.stream(
                    "POST", parsed, content=message.body.encode(), headers=headers
                ) as response:
                    code = response.status_code
                    retry_after = response.headers.get("retry-after")
                    answer = await read_at_most(response, MAX_ANSWER_BYTES)
                if not 200 <= code < 300:
                    snippet = answer[:200].decode("utf-8", "replace").strip()
                    error = f"HTTP {code}" + (f": {snippet}" if snippet else "")
        except AddressRefused as exc:
            error = f"refused: {exc}"
        except TimeoutError:
            error = f"no answer within {self.options.timeout_seconds:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # a sender must outlive any one attempt
            log.exception("webhook attempt failed unexpectedly")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            key = (endpoint.account_id, endpoint.id)
            self._in_flight[key] -= 1
            self._total -= 1
            self._start_ready()
            self._slot_free.set()
        delivered = code is not None and 200 <= code < 300 and error is None
        attempts = message.attempts + 1
        if delivered:
            status, next_us = outbox.DELIVERED, None
        else:
            wait = retry_after_seconds(retry_after, now) if code in (429, 503) else None
            next_us = next_attempt_us(
                attempts, now, schedule=self.options.schedule, retry_after=wait, rng=self._rng
            )
            status = outbox.PENDING if next_us is not None else outbox.FAILED
        outcome = Outcome(message, status, next_us, now, code, error)
        self._outcomes.append(outcome)
        self._recorded.set()
        observe_attempt(self.metrics, endpoint, outcome, attempts, time.perf_counter() - started)

    # -- writing outcomes back ------------------------------------------------------

    async def _flush_loop(self, stop: asyncio.Event) -> None:
        # Outcomes are written as soon as there are some, a batch per commit
        # (what finishes during one commit goes in the next): the shorter an
        # attempt waits unrecorded, the fewer are sent again after a crash.
        while not stop.is_set():
            try:
                await asyncio.wait_for(self._recorded.wait(), self.options.flush_seconds)
            except TimeoutError:
                continue
            self._recorded.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        batch, self._outcomes = self._outcomes, []
        self._writing += 1
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception:
            # The claims still hold: kept for the next flush (or lost with the
            # lease, and then tried again: at least once).
            log.exception("could not record %d webhook attempts; retrying", len(batch))
            self._outcomes[:0] = batch
            await asyncio.sleep(1)
        finally:
            self._writing -= 1

    def _write(self, batch: list[Outcome]) -> None:
        options = self.options
        with self.db.writing() as conn:
            write_outcomes(conn, self.token, batch, options.clock(), options.disable_after_us)
