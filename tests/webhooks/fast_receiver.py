"""A fast webhook receiver in a process of its own, for the many-message tests and the bench.

``python -m tests.webhooks.fast_receiver SECRET`` prints its port, answers every
POST 204 on keep-alive connections, verifies each request with the Standard
Webhooks library, and on SIGTERM prints ``{"received", "distinct", "max_per_id",
"unverified", "ended"}`` as JSON. asyncio's raw protocol, not a framework: the receiver
must not be what a throughput figure measures.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter

from standardwebhooks import Webhook

ANSWER = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class Stats:
    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.ids: Counter[str] = Counter()
        self.unverified = 0
        self.ended: set[str] = set()

    def take(self, head: bytes, body: bytes) -> None:
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode()
        try:
            payload = self.webhook.verify(body, headers)
            if payload.get("type") == "session.ended":
                self.ended.add(payload["data"]["session"]["id"])
        except Exception:
            self.unverified += 1
        self.ids[headers.get("webhook-id", "")] += 1


class Protocol(asyncio.Protocol):
    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.stats.take(head, body)
            self.transport.write(ANSWER)


async def main(secret: str) -> None:
    stats = Stats(secret)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Protocol(stats), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    summary = {
        "received": sum(stats.ids.values()),
        "distinct": len(stats.ids),
        "max_per_id": max(stats.ids.values(), default=0),
        "unverified": stats.unverified,
        "ended": sorted(stats.ended),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
