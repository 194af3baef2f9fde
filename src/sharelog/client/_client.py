"""``UsageClient`` and ``AsyncUsageClient``: the usage-history API from Python.

Both speak to any server of this API, sharelog or CrankWheel: the key goes as
``Authorization: Basic <key>``. Requests are retried with exponential backoff
on 429 (honouring ``Retry-After``), 502, 503, 504 and connection errors, never
on another 4xx.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from sharelog.client._changes import (
    CHANGES_PATH,
    ChangesPage,
    changes_params,
    iter_feed,
    timeout_for,
)
from sharelog.client._exceptions import (
    InvalidRequest,
)
from sharelog.client._models import (
    EventsResult,
    ImportResult,
    NewSession,
    Session,
    Usage,
    known,
)
from sharelog.client._requests import (
    Moment,
    client_settings,
    read_json,
    read_json_value,
    session_path,
    usage_params,
)
from sharelog.client._retry import Retry

T = TypeVar("T")

PAGE_SIZE = 1000
# Sessions only: a server recomputes a window's stats on every page that asks for them.
_LATER_PAGES = (("include", "sessions"),)


def _as_usage_document(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or "from" not in data or "to" not in data:
        raise ValueError("no usage window")
    return data


def _as_sessions_document(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
        raise ValueError('not {"sessions": [...]}')
    return data


def _as_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    return data


def _is_paging_refused(exc: InvalidRequest) -> bool:
    return exc.parameter in ("limit", "cursor")


def _sessions_body(sessions: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"sessions": list(sessions)}


class UsageClient:
    """A synchronous client. ``UsageClient(base_url, key)``; also a context manager."""

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base, secret = client_settings(base_url, key)
        self._retry = Retry(retries, backoff, max_wait)
        self._http = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Basic {secret}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> UsageClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send with retries; raise ApiError for an error answer, TransportError when unreachable."""
        for attempt in itertools.count():
            try:
                done, wait = self._retry.decide(
                    attempt, f"{method} {path}", response=self._http.request(method, path, **kwargs)
                )
            except httpx.TransportError as exc:
                done, wait = self._retry.decide(attempt, f"{method} {path}", error=exc)
            if done is not None:
                return done
            time.sleep(wait)
        raise AssertionError("unreachable")

    def usage(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> Usage:
        """The whole usage document of a window (stats and every session)."""
        response = self.request("GET", "/ss/api/usage", params=usage_params(from_, to, agents))
        return read_json(response, Usage.from_json)

    def usage_document(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The same document as plain JSON."""
        response = self.request("GET", "/ss/api/usage", params=usage_params(from_, to, agents))
        return read_json(response, _as_usage_document)

    def usage_new(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> list[NewSession]:
        """Every session of a window from ``GET /ss/api/usage_new``."""
        document = self.usage_new_document(from_, to, agents)
        return [read_json_value(s, NewSession.from_json, "a session") for s in document["sessions"]]

    def usage_new_document(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """``GET /ss/api/usage_new`` as plain JSON: ``{"sessions": [...]}``."""
        response = self.request("GET", "/ss/api/usage_new", params=usage_params(from_, to, agents))
        return read_json(response, _as_sessions_document)

    def iter_pages(
        self,
        from_: Moment = None,
        to: Moment = None,
        agents: Sequence[str] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Each page's JSON; a server without paging answers everything in one page
        (it ignores ``limit``, or refuses it and is asked once more without it)."""
        params = usage_params(from_, to, agents, limit=page_size)
        try:
            page = self._page(params)
        except InvalidRequest as exc:
            if not _is_paging_refused(exc):
                raise
            page = self._page(usage_params(from_, to, agents))
        while True:
            yield page
            cursor = page.get("next_cursor")
            if not cursor:  # absent: the server does not page; null: last page
                return
            # Later pages skip the stats: the first page had them, for the whole window.
            page = self._page([*usage_params(limit=page_size), *_LATER_PAGES, ("cursor", cursor)])

    def _page(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        return read_json(self.request("GET", "/ss/api/usage", params=params), _as_usage_document)

    def iter_sessions(
        self,
        from_: Moment = None,
        to: Moment = None,
        agents: Sequence[str] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[Session]:
        for page in self.iter_pages(from_, to, agents, page_size=page_size):
            yield from (
                read_json_value(s, Session.from_json, "a session") for s in page.get("sessions", [])
            )

    def session(self, session_id: str) -> Session:
        return read_json_value(self.session_document(session_id), Session.from_json, "a session")

    def session_document(self, session_id: str) -> dict[str, Any]:
        """One session as plain JSON, its viewers listed."""
        return read_json(self.request("GET", session_path(session_id)), _as_object)

    def post_sessions(self, sessions: Iterable[Mapping[str, Any]]) -> ImportResult:
        response = self.request("POST", "/ss/api/sessions", json=_sessions_body(sessions))
        return read_json(response, lambda data: known(ImportResult, data))

    def post_events(self, events: Iterable[Mapping[str, Any]]) -> EventsResult:
        response = self.request("POST", "/ss/api/events", json={"events": list(events)})
        return read_json(response, lambda data: known(EventsResult, data))

    def changes(
        self, since: str | None = None, *, limit: int | None = None, wait: float = 0
    ) -> ChangesPage:
        """One page of the change feed after ``since`` (None: from the beginning)."""
        response = self.request(
            "GET",
            CHANGES_PATH,
            params=changes_params(since, limit, wait),
            timeout=timeout_for(wait),
        )
        return read_json(response, ChangesPage.from_json)

    def iter_changes(
        self,
        since: str | None = None,
        *,
        limit: int | None = None,
        follow: bool = False,
        wait: float = 30,
    ) -> Iterator[ChangesPage]:
        """Pages of the feed until caught up; with ``follow``, long-poll for more, forever.

        Keep each page's ``next`` once its changes are applied: it is where to resume.
        Raises PositionGone when ``since`` is older than what the server keeps.
        """
        return iter_feed(
            lambda at, hold: self.changes(at, limit=limit, wait=hold),
            since,
            follow=follow,
            wait=wait,
        )


class AsyncUsageClient:
    """The same API for asyncio: every method is a coroutine, paging an async iterator."""

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        base, secret = client_settings(base_url, key)
        self._retry = Retry(retries, backoff, max_wait)
        self._http = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Basic {secret}"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncUsageClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in itertools.count():
            try:
                response = await self._http.request(method, path, **kwargs)
                done, wait = self._retry.decide(attempt, f"{method} {path}", response=response)
            except httpx.TransportError as exc:
                done, wait = self._retry.decide(attempt, f"{method} {path}", error=exc)
            if done is not None:
                return done
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def usage(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> Usage:
        response = await self.request(
            "GET", "/ss/api/usage", params=usage_params(from_, to, agents)
        )
        return read_json(response, Usage.from_json)

    async def usage_new(
        self, from_: Moment = None, to: Moment = None, agents: Sequence[str] | None = None
    ) -> list[NewSession]:
        response = await self.request(
            "GET", "/ss/api/usage_new", params=usage_params(from_, to, agents)
        )
        document = read_json(response, _as_sessions_document)
        return [read_json_value(s, NewSession.from_json, "a session") for s in document["sessions"]]

    async def iter_sessions(
        self,
        from_: Moment = None,
        to: Moment = None,
        agents: Sequence[str] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[Session]:
        try:
            page = await self._page(
                [*usage_params(from_, to, agents, limit=page_size), *_LATER_PAGES]
            )
        except InvalidRequest as exc:
            if not _is_paging_refused(exc):
                raise
            page = await self._page(usage_params(from_, to, agents))
        while True:
            for s in page.get("sessions", []):
                yield read_json_value(s, Session.from_json, "a session")
            cursor = page.get("next_cursor")
            if not cursor:
                return
            page = await self._page(
                [*usage_params(limit=page_size), *_LATER_PAGES, ("cursor", cursor)]
            )

    async def _page(self, params: list[tuple[str, str]]) -> dict[str, Any]:
        response = await self.request("GET", "/ss/api/usage", params=params)
        return read_json(response, _as_usage_document)

    async def session(self, session_id: str) -> Session:
        return read_json(await self.request("GET", session_path(session_id)), Session.from_json)

    async def post_sessions(self, sessions: Iterable[Mapping[str, Any]]) -> ImportResult:
        response = await self.request("POST", "/ss/api/sessions", json=_sessions_body(sessions))
        return read_json(response, lambda data: known(ImportResult, data))

    async def post_events(self, events: Iterable[Mapping[str, Any]]) -> EventsResult:
        response = await self.request("POST", "/ss/api/events", json={"events": list(events)})
        return read_json(response, lambda data: known(EventsResult, data))
