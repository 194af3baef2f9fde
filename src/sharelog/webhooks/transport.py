"""An HTTP transport whose every connection goes to an address that passed the check.

The URL keeps its host name, so the ``Host`` header, TLS SNI and certificate
checks all use the name; only the TCP connection is made to the checked
address. No proxy from the environment is used (it would connect elsewhere).

Each connection's stream also sends a request in one piece (h11 hands over the
headers and the body separately: two packets and two wake-ups of the receiver)
and answers "is this idle connection readable?" from the socket itself
(through anyio's attribute machinery it cost a tenth of the sender's time).
"""

from __future__ import annotations

import asyncio
import select
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
                return WholeRequestStream(
                    await self._inner.connect_tcp(
                        address, port, timeout, local_address, socket_options
                    )
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


def is_socket_readable(sock: socket.socket | None) -> bool:
    """Whether an idle connection has something to read: on a keep-alive
    connection between requests, that is the server closing it (or garbage),
    so it must not be used again."""
    if sock is None or sock.fileno() == -1:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class WholeRequestStream(httpcore.AsyncNetworkStream):
    """Gathers what is written until the request is complete, then sends it at once.

    h11 ends a request with an empty write (its end of message); a read, a TLS
    upgrade or a close also sends what is gathered, so nothing waits for them.
    """

    FLUSH_AT = 64 * 1024

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")
        self._gathered: list[bytes] = []
        self._size = 0

    async def _flush(self, timeout: float | None) -> None:
        if self._gathered:
            data = b"".join(self._gathered)
            self._gathered, self._size = [], 0
            await self._inner.write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._gathered.append(buffer)
            self._size += len(buffer)
            if self._size < self.FLUSH_AT:
                return
        await self._flush(timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._gathered, self._size = [], 0
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return WholeRequestStream(
            await self._inner.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


# httpcore's errors as httpx's, which is what callers catch.
_ERRORS: tuple[tuple[type[Exception], type[httpx.RequestError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


def _as_httpx(exc: Exception, request: httpx.Request) -> Exception:
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            return ours(str(exc), request=request)
    return exc


class CheckedTransport(httpx.AsyncBaseTransport):
    """httpx requests over connections to checked addresses, kept idle per origin.

    httpcore's pool looks at every connection it holds on every request (a
    third of the sender's time at 16 connections). The sender bounds the
    requests in flight to an endpoint itself, so a list of idle connections
    per origin is all the pooling it needs: a request takes the newest idle
    one that is still usable, or opens another.
    """

    def __init__(self, resolver: Resolver, allow_private: bool, max_connections: int) -> None:
        self._backend = CheckedBackend(resolver, allow_private)
        self._ssl = httpx.create_ssl_context(trust_env=False)
        self._max_idle = max_connections
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}

    def _connection(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(_key(origin), [])
        while idle:
            connection = idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            self._discard(connection)
        return httpcore.AsyncHTTPConnection(
            origin,
            ssl_context=self._ssl,
            # Short: a kept connection is one to an address checked a moment ago.
            keepalive_expiry=5.0,
            network_backend=self._backend,
            # The headers and the body leave as one write (WholeRequestStream); this
            # keeps Nagle's algorithm from holding anything for a delayed ACK.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    def _discard(self, connection: httpcore.AsyncHTTPConnection) -> None:
        # Closing an idle or broken HTTP/1.1 connection only closes its socket.
        task = asyncio.get_running_loop().create_task(connection.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    def _done(self, connection: httpcore.AsyncHTTPConnection, origin: httpcore.Origin) -> None:
        idle = self._idle.setdefault(_key(origin), [])
        if connection.is_idle() and len(idle) < self._max_idle:
            idle.append(connection)
        else:
            self._discard(connection)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        origin = httpcore.Origin(url.raw_scheme, url.raw_host, port)
        connection = self._connection(origin)
        try:
            response = await connection.handle_async_request(
                httpcore.Request(
                    method=request.method,
                    url=httpcore.URL(
                        scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
                    ),
                    headers=request.headers.raw,
                    content=typing.cast(typing.AsyncIterable[bytes], request.stream),
                    extensions=request.extensions,
                )
            )
        except Exception as exc:
            self._discard(connection)
            raise _as_httpx(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response, connection, origin, self, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                await connection.aclose()
        self._idle.clear()


_closing: set[asyncio.Task[None]] = set()


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return (origin.scheme, origin.host, origin.port)


class _Body(httpx.AsyncByteStream):
    """A response's body; closing it hands its connection back (or closes it)."""

    def __init__(
        self,
        response: httpcore.Response,
        connection: httpcore.AsyncHTTPConnection,
        origin: httpcore.Origin,
        transport: CheckedTransport,
        request: httpx.Request,
    ) -> None:
        self._response = response
        self._connection = connection
        self._origin = origin
        self._transport = transport
        self._request = request

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        try:
            async for chunk in typing.cast(typing.AsyncIterable[bytes], self._response.stream):
                yield chunk
        except Exception as exc:
            raise _as_httpx(exc, self._request) from exc

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            self._transport._done(self._connection, self._origin)


def make_client(resolver: Resolver, allow_private: bool, max_connections: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=CheckedTransport(resolver, allow_private, max_connections),
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(15.0),
        headers={"user-agent": "sharelog-webhooks"},
    )


async def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the answer; a longer one is cut (and its connection dropped)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]
