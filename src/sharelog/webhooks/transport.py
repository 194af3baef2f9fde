"""An HTTP transport whose every connection goes to an address that passed the check.

The URL keeps its host name, so the ``Host`` header, TLS SNI and certificate
checks all use the name; only the TCP connection is made to the checked
address. No proxy from the environment is used (it would connect elsewhere).
"""

from __future__ import annotations

import socket
import typing

import httpcore
import httpx

from sharelog.webhooks.addresses import Resolver, resolve_async


class CheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, resolver: Resolver, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._resolver = resolver
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_async(host, port, self._resolver, self._allow_private)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, resolver: Resolver, allow_private: bool, max_connections: int) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            # Short: a kept connection is one to an address checked a moment ago.
            keepalive_expiry=5.0,
            network_backend=CheckedBackend(resolver, allow_private),
            # h11 writes the headers and the body separately: without this, Nagle's
            # algorithm held the body for the receiver's delayed ACK, 40 ms a message.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )


def make_client(resolver: Resolver, allow_private: bool, max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=CheckedTransport(resolver, allow_private, max_connections),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(15.0),
        headers={"user-agent": "sharelog-webhooks"},
    )
