"""Usage documents streamed out chunk by chunk: JSON, NDJSON or CSV.

Everything is read in one database snapshot, so the stats, the sessions and
the next cursor agree. The stats and the page's end are computed before the
response starts (errors there still get a proper status); the sessions follow
in chunks of ``SESSION_CHUNK``, each serialised by orjson in one call, so
memory stays flat however large the window.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.datastructures import QueryParams
from starlette.responses import StreamingResponse

from sharelog.api.signing import Signer
from sharelog.api.usage_request import Cursor, UsageRequest
from sharelog.exports import CSV_COLUMNS, csv_row
from sharelog.store import usage as usage_store
from sharelog.store.database import Database
from sharelog.timestamps import format_timestamp
from sharelog.usage_new import usage_new_session

MEDIA_TYPES = {
    "json": "application/json",
    "usage_new": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}


class UsageStream:
    """Owns the read transaction from the first query to the last byte sent."""

    def __init__(
        self, db: Database, account_id: int, request: UsageRequest, signer: Signer
    ) -> None:
        self.account_id = account_id
        self.signer = signer
        self.request = request
        self._exit = ExitStack()
        self._lock = threading.Lock()
        self._closed = False
        self.conn: Connection = self._exit.enter_context(db.reading())
        self.stats: usage_store.Stats | None = None
        self.next_cursor: str | None = None
        try:
            self._prepare()
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> None:
        req, q = self.request, self.request.query
        if req.format == "json" and "stats" in req.include:
            self.stats = usage_store.usage_stats(self.conn, self.account_id, q)
        if req.limit is not None and (req.format != "json" or "sessions" in req.include):
            end = usage_store.page_end(self.conn, self.account_id, q, req.after, req.limit)
            if end is not None:
                self.next_cursor = Cursor(q.from_us, q.to_us, q.agents, *end).encode(
                    self.signer, self.account_id
                )

    def close(self) -> None:
        """Idempotent; safe to call from another thread while a chunk is being built."""
        with self._lock:
            self._closed = True
            self._exit.close()

    def _chunks(self) -> Iterator[list[dict[str, Any]]]:
        req = self.request
        return usage_store.session_chunks(
            self.conn,
            self.account_id,
            req.query,
            after=req.after,
            limit=req.limit,
            sources=req.format == "usage_new",
        )

    def __iter__(self) -> Iterator[bytes]:
        produce = {
            "ndjson": self._ndjson,
            "csv": self._csv,
            "usage_new": self._usage_new,
        }.get(self.request.format, self._json)
        body = produce()
        try:
            while True:
                # Each step runs under the lock, so close() never pulls the
                # connection from under a query in progress.
                with self._lock:
                    if self._closed:
                        return
                    piece = next(body, None)
                if piece is None:
                    return
                yield piece
        finally:
            body.close()
            self.close()

    def _json(self) -> Generator[bytes]:
        q = self.request.query
        yield b'{"from":"%s","to":"%s"' % (
            format_timestamp(q.from_us).encode(),
            format_timestamp(q.to_us).encode(),
        )
        if self.stats is not None:
            yield b',"stats":' + orjson.dumps(self.stats.as_json())
        if "sessions" in self.request.include:
            yield b',"sessions":['
            first = True
            for chunk in self._chunks():
                body = orjson.dumps(chunk)[1:-1]
                yield body if first else b"," + body
                first = False
            yield b'],"next_cursor":' + orjson.dumps(self.next_cursor)
        yield b"}"

    def _usage_new(self) -> Generator[bytes]:
        yield b'{"sessions":['
        first = True
        for chunk in self._chunks():
            body = orjson.dumps([usage_new_session(s) for s in chunk])[1:-1]
            if body:
                yield body if first else b"," + body
                first = False
        yield b"]}"

    def _ndjson(self) -> Generator[bytes]:
        for chunk in self._chunks():
            yield b"".join(orjson.dumps(s) + b"\n" for s in chunk)

    def _csv(self) -> Generator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for chunk in self._chunks():
            writer.writerows(csv_row(s) for s in chunk)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")


def next_link(path: str, query: QueryParams, cursor: str) -> str:
    """The same request plus ``cursor``: the Link header of an export page."""
    params = [(k, v) for k, v in query.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    return f'<{path}?{urlencode(params)}>; rel="next"'


def usage_response(stream: UsageStream, path: str, query: QueryParams) -> StreamingResponse:
    headers = {}
    if stream.request.format != "json" and stream.next_cursor is not None:
        headers["Link"] = next_link(path, query, stream.next_cursor)
    return StreamingResponse(
        iter(stream),
        media_type=MEDIA_TYPES[stream.request.format],
        headers=headers,
        # Closes the snapshot even if the client went away before the first byte.
        background=BackgroundTask(stream.close),
    )
