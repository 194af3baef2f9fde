"""The sender's transport keeps idle connections itself: it reuses a live one and
never one the receiver has closed meanwhile."""

from __future__ import annotations

import asyncio

from sharelog.webhooks.transport import make_client
from tests.webhooks.conftest import fake_resolver

ANSWER = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


async def serve(close_after_answer: bool) -> tuple[asyncio.Server, list[int]]:
    """A receiver that answers every request 204; it may close each connection
    right after its answer (without saying so in a header, as a server that
    times idle connections out does)."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                writer.write(ANSWER)
                await writer.drain()
                if close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


async def post_in_turn(close_after_answer: bool, count: int) -> tuple[list[int], int]:
    server, connections = await serve(close_after_answer)
    port = server.sockets[0].getsockname()[1]
    client = make_client(fake_resolver, True, 4)
    codes = []
    try:
        for _ in range(count):
            response = await client.post(f"http://127.0.0.1:{port}/", content=b"{}")
            codes.append(response.status_code)
            # Let the receiver's close reach this side before the next request.
            await asyncio.sleep(0.05)
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
    return codes, len(connections)


def test_a_live_idle_connection_is_used_again() -> None:
    codes, connections = asyncio.run(post_in_turn(False, 5))
    assert codes == [204] * 5
    assert connections == 1


def test_a_connection_the_receiver_closed_is_not_used_again() -> None:
    codes, connections = asyncio.run(post_in_turn(True, 5))
    assert codes == [204] * 5
    assert connections == 5
