"""Usage documents streamed out chunk by chunk: JSON, NDJSON or CSV.

The stats and a page's sessions are read in one snapshot before the response
starts (errors there still get a proper status). The sessions follow in chunks
of ``SESSION_CHUNK``, each read in a short snapshot of its own and serialised
by orjson in one call: memory stays flat however large the window, and no
connection or transaction waits on a slow client (a few of those used to hold
the whole pool). The keyset continues strictly after the last session sent,
so writes between two chunks never make a session repeat or go missing; what
a document then shows is in the README's "Choices where the contract is
silent".
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Generator, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.datastructures import QueryParams
from starlette.responses import Response, StreamingResponse

from sharelog.api.signing import Signer
from sharelog.api.usage_request import Cursor, UsageRequest
from sharelog.exports import CSV_COLUMNS
from sharelog.store import usage as usage_store
from sharelog.store.database import Database
from sharelog.store.stats_beside import stats_while
from sharelog.store.usage_rows import build_sessions, build_stored, export_rows
from sharelog.store.usage_sql import Build
from sharelog.store.usage_stats import Stats, StatsCache, usage_stats
from sharelog.timestamps import format_timestamp
from sharelog.usage_new import usage_new_session

MEDIA_TYPES = {
    "json": "application/json",
    "usage_new": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}


class UsageStream:
    """A usage response: its stats and page, then its sessions chunk by chunk."""

    def __init__(
        self,
        db: Database,
        account_id: int,
        request: UsageRequest,
        signer: Signer,
        stats: StatsCache | None = None,
        stored: str | None = None,
    ) -> None:
        self.account_id = account_id
        self.signer = signer
        self.request = request
        self.db = db
        # Stored usage entries (sharelog.renderer) serve the usage objects of JSON
        # and NDJSON; usage_new and CSV rows are made from the rows.
        objects = request.format == "ndjson" or (
            request.format == "json" and "sessions" in request.include
        )
        self.stored = stored if objects else None
        self._lock = threading.Lock()
        self._closed = False
        self.stats: Stats | None = None
        self.next_cursor: str | None = None
        # A page (at most MAX_USAGE_LIMIT sessions) is read whole in the snapshot
        # of its stats, so it holds at most `limit` sessions whatever commits
        # meanwhile; only an unpaged document streams chunk by chunk.
        self._page: list[list[Any]] | None = None
        with db.reading() as conn:
            self._prepare(conn, stats)
        # A streamed body reads its first chunk now, before any byte is sent: a
        # failure there (no connection, a timeout) is still an error answer with
        # its status, not a 200 cut short, for CSV and NDJSON exports too.
        self._rest: Iterator[list[Any]] | None = None
        self._first: list[Any] | None = None
        if self._page is None and (
            self.request.format != "json" or "sessions" in self.request.include
        ):
            self._rest = self._stream_chunks()
            self._first = next(self._rest, None)
            if self._first is None or len(self._first) < usage_store.SESSION_CHUNK:
                # The window held less than a chunk: read whole already, it goes
                # out in one piece, not one thread hop a piece (an empty window's
                # document took 5.5 ms over HTTP streamed, 3.6 whole).
                self._page = [chunk for chunk in (self._first, *self._rest) if chunk]
                self._first = self._rest = None

    def _prepare(self, conn: Connection, cache: StatsCache | None) -> None:
        req, q = self.request, self.request.query
        page = None
        if req.limit is not None and (req.format != "json" or "sessions" in req.include):
            page = partial(self._read_page, conn, req.limit)
        if req.format == "json" and "stats" in req.include:
            if cache is None:
                self.stats = usage_stats(conn, self.account_id, q)
            else:
                # The page is read while the stats are (store/stats_beside.py).
                self.stats = stats_while(self.db, conn, cache, self.account_id, q, page)
                page = None
        if page is not None:
            page()

    def _read_page(self, conn: Connection, limit: int) -> None:
        q = self.request.query
        self._page, end = usage_store.read_page(
            conn,
            self.account_id,
            q,
            self.request.after,
            limit,
            build=self._build(),
            stored=self.stored,
        )
        if end is not None:
            self.next_cursor = Cursor(q.from_us, q.to_us, q.agents, *end).encode(
                self.signer, self.account_id
            )

    def close(self) -> None:
        """Idempotent; safe to call from another thread while a chunk is being built."""
        with self._lock:
            self._closed = True

    def _build(self) -> Build:
        """What a chunk's rows become: usage objects, or CSV rows for the CSV export."""
        if self.request.format == "csv":
            # The CSV's columns only: counts and countries, no usage objects.
            return export_rows
        if self.request.format == "usage_new":
            return partial(build_sessions, sources=True)
        return build_sessions if self.stored is None else build_stored

    def _chunks(self) -> Iterator[list[Any]]:
        if self._page is not None:
            yield from self._page
            return
        if self._rest is None:
            return
        first, self._first = self._first, None
        if first is not None:
            yield first
            yield from self._rest

    def _stream_chunks(self) -> Iterator[list[Any]]:
        return usage_store.session_chunks(
            self.db.reading,
            self.account_id,
            self.request.query,
            after=self.request.after,
            build=self._build(),
            stored=self.stored,
        )

    def _pieces(self) -> Generator[bytes]:
        produce = {
            "ndjson": self._ndjson,
            "csv": self._csv,
            "usage_new": self._usage_new,
        }.get(self.request.format, self._json)
        return produce()

    def whole_body(self) -> bytes | None:
        """The whole body when it is read already: a page, a window of less than a
        chunk, or a document without sessions (stats only, a few hundred bytes);
        else None: the body streams.

        Streamed, each piece is a trip to the thread pool: a stats-only answer
        in four pieces took more of its time in them than in its query."""
        if self._page is None and self._rest is not None:
            return None
        return b"".join(self._pieces())

    def __iter__(self) -> Iterator[bytes]:
        body = self._pieces()
        try:
            while True:
                # Each step runs under the lock, so close() never lands in the
                # middle of a chunk being read.
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
        line = orjson.OPT_APPEND_NEWLINE
        for chunk in self._chunks():
            yield b"".join([orjson.dumps(s, option=line) for s in chunk])

    def _csv(self) -> Generator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for chunk in self._chunks():
            writer.writerows(chunk)
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
        if buffer.tell():
            yield buffer.getvalue().encode("utf-8")


def next_link(path: str, query: QueryParams, cursor: str, fmt: str) -> str:
    """The same request plus ``cursor``: the Link header of an export page. It names
    the format when ``Accept`` chose it, so the link alone asks for the same."""
    params = [(k, v) for k, v in query.multi_items() if k != "cursor"]
    if "format" not in query:
        params.append(("format", fmt))
    params.append(("cursor", cursor))
    return f'<{path}?{urlencode(params)}>; rel="next"'


def open_usage_stream(
    db: Database,
    account_id: int,
    request: UsageRequest,
    signer: Signer,
    stats: StatsCache | None = None,
    stored: str | None = None,
) -> tuple[UsageStream, bytes | None]:
    """The stream and, for a page, its whole body (in a worker thread: it blocks)."""
    stream = UsageStream(db, account_id, request, signer, stats, stored)
    return stream, stream.whole_body()


def usage_response(
    stream: UsageStream, path: str, query: QueryParams, body: bytes | None = None
) -> Response:
    """``body``: the stream's whole body when it has one (a page), sent at once with
    its length; a page by 1,000 streamed in five pieces took a thread hop each."""
    headers = {}
    if stream.request.format != "json" and stream.next_cursor is not None:
        headers["Link"] = next_link(path, query, stream.next_cursor, stream.request.format)
    if body is not None:
        stream.close()
        return Response(body, media_type=MEDIA_TYPES[stream.request.format], headers=headers)
    return StreamingResponse(
        iter(stream),
        media_type=MEDIA_TYPES[stream.request.format],
        headers=headers,
        # Stops the stream even if the client went away before the first byte.
        background=BackgroundTask(stream.close),
    )
