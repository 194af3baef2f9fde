"""Read-your-writes across replicas: ``Sharelog-Position`` out, ``Sharelog-Min-Position`` in.

A write answer says where the primary's WAL stood after its commit; a read
that sends it back is served by a replica only once that replica has replayed
that far (``sharelog.store.replicas``), else by the primary. A pure ASGI
middleware, so the request's context variables are seen by the route and by
the threads it runs database work in.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharelog.api.errors import error_response
from sharelog.errors import InvalidParameter
from sharelog.store.replicas import parse_position, pinned, read_after, written

MIN_POSITION = "Sharelog-Min-Position"
POSITION = "Sharelog-Position"
_MIN_POSITION_KEY = MIN_POSITION.lower().encode()


class ReplicaPositions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        need: int | None = None
        for key, value in scope["headers"]:
            if key == _MIN_POSITION_KEY:
                try:
                    need = parse_position(value.decode("latin-1"))
                except ValueError as exc:
                    error = InvalidParameter(MIN_POSITION, str(exc))
                    await error_response(error)(scope, receive, send)
                    return
        holder: list[str] = []
        read_token = read_after.set(need)
        written_token = written.set(holder)
        pinned_token = pinned.set(None)

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start" and holder:
                headers = [*message.get("headers", ()), (b"sharelog-position", holder[0].encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_position)
        finally:
            read_after.reset(read_token)
            written.reset(written_token)
            pinned.reset(pinned_token)
