"""The Python client against a real sharelog server, and its retries against a flaky remote."""

from __future__ import annotations

import asyncio
import email.utils
import time
from datetime import UTC, datetime

import httpx
import pytest

from sharelog.client import (
    ApiError,
    AsyncUsageClient,
    AuthenticationError,
    ClientError,
    InvalidRequest,
    ProtocolError,
    TransportError,
    UsageClient,
)
from tests.client.conftest import SESSIONS, WINDOW, Live


def test_usage_returns_typed_results(live: Live) -> None:
    with UsageClient(live.url, live.source.read_key) as client:
        usage = client.usage(datetime(2026, 11, 1, tzinfo=UTC), "2026-11-10")
        raw = httpx.get(
            f"{live.url}/ss/api/usage",
            params={"from": "2026-11-01", "to": "2026-11-10"},
            headers={"Authorization": f"Basic {live.source.read_key}"},
        ).json()
    assert usage.from_ == datetime(2026, 11, 1, tzinfo=UTC)
    assert usage.stats is not None
    assert usage.stats.total.meetings == raw["stats"]["total"]["meetings"] == len(SESSIONS)
    assert {a: f.seconds for a, f in usage.stats.per_agent.items()} == {
        a: f["seconds"] for a, f in raw["stats"]["per_agent"].items()
    }
    first = usage.sessions[0]
    assert isinstance(first.start, datetime) and first.start.tzinfo is not None
    assert first.viewer_count == 2 and first.locations[0].count == 1
    assert first.shares[0].title == "Pricing"


def test_iter_sessions_pages_through_everything_in_order(live: Live) -> None:
    with UsageClient(live.url, live.source.read_key) as client:
        paged = [s.id for s in client.iter_sessions(**WINDOW, page_size=2)]
        whole = [s.id for s in client.usage(**WINDOW).sessions]
        agent_only = [
            s.agent
            for s in client.iter_sessions(**WINDOW, agents=["agent1@example.com"], page_size=1)
        ]
    assert paged == whole and len(paged) == len(SESSIONS)
    assert set(agent_only) == {"agent1@example.com"} and len(agent_only) == 3


def test_session_and_writes(live: Live) -> None:
    with UsageClient(live.url, live.target.write_key) as client:
        result = client.post_sessions([SESSIONS[0]])
        assert (result.received, result.created + result.replaced) == (1, 1)
        events = [
            {
                "id": "c-e1",
                "type": "session.started",
                "session": "live-1",
                "at": "2026-11-03T09:00:00Z",
                "agent": "x@example.com",
            },
            {
                "id": "c-e2",
                "type": "viewer.joined",
                "session": "live-1",
                "at": "2026-11-03T09:00:30Z",
                "viewer": "v",
            },
        ]
        assert client.post_events(events).accepted == 2
        assert client.post_events(events).duplicates == 2
        detail = client.session("live-1")
    assert detail.viewers is not None and detail.viewers[0].id == "v"
    assert detail.agent == "x@example.com"


def test_errors_carry_the_servers_code_and_parameter(live: Live) -> None:
    with UsageClient(live.url, live.source.read_key) as client:
        with pytest.raises(InvalidRequest) as bad:
            client.usage("tomorrow")
        assert (bad.value.code, bad.value.parameter, bad.value.status) == (
            "invalid_parameter",
            "from",
            400,
        )
        with pytest.raises(AuthenticationError) as forbidden:
            client.post_sessions([SESSIONS[0]])
        assert forbidden.value.code == "forbidden"
        with pytest.raises(ApiError) as missing:
            client.session("nope")
        assert missing.value.status == 404
    with UsageClient(live.url, "slk_wrong") as client, pytest.raises(AuthenticationError):
        client.usage()


def test_async_client(live: Live) -> None:
    async def run() -> tuple[int, list[str]]:
        async with AsyncUsageClient(live.url, live.source.read_key) as client:
            usage = await client.usage(**WINDOW)
            ids = [s.id async for s in client.iter_sessions(**WINDOW, page_size=3)]
            return len(usage.sessions), ids

    count, ids = asyncio.run(run())
    assert count == len(ids) == len(SESSIONS)


def test_settings_come_from_the_environment(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARELOG_URL", live.url)
    monkeypatch.setenv("SHARELOG_KEY", live.source.read_key)
    with UsageClient() as client:
        assert len(client.usage(**WINDOW).sessions) == len(SESSIONS)


class Flaky:
    """A remote that fails ``failures`` times with ``status`` before answering."""

    def __init__(self, failures: int, status: int, headers: dict[str, str] | None = None) -> None:
        self.failures, self.status, self.headers = failures, status, headers or {}
        self.calls = 0
        self.authorization: str | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.authorization = request.headers.get("authorization")
        if self.calls <= self.failures:
            return httpx.Response(
                self.status, headers=self.headers, json={"error": {"code": "x", "message": "m"}}
            )
        # What CrankWheel answers: no next_cursor, so no paging.
        return httpx.Response(
            200,
            json={
                "from": "2026-11-01T00:00:00Z",
                "to": "2026-11-02T00:00:00Z",
                "stats": {"total": {"meetings": 0, "seconds": 0}, "per_agent": {}},
                "sessions": [],
            },
        )


@pytest.mark.parametrize(
    ("status", "headers"), [(503, {}), (502, {}), (504, {}), (429, {"Retry-After": "0"})]
)
def test_retries_on_overload_and_gateway_errors(status: int, headers: dict[str, str]) -> None:
    remote = Flaky(2, status, headers)
    with UsageClient(
        "http://remote", "k", backoff=0.001, transport=httpx.MockTransport(remote)
    ) as client:
        client.usage()
    assert remote.calls == 3
    assert remote.authorization == "Basic k"


def test_retry_after_is_honoured() -> None:
    remote = Flaky(1, 429, {"Retry-After": "1"})
    began = time.monotonic()
    with UsageClient(
        "http://remote", "k", backoff=0.001, transport=httpx.MockTransport(remote)
    ) as client:
        client.usage()
    assert time.monotonic() - began >= 0.95


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(status: int) -> None:
    remote = Flaky(5, status)
    with (
        UsageClient(
            "http://remote", "k", backoff=0.001, transport=httpx.MockTransport(remote)
        ) as client,
        pytest.raises(ApiError),
    ):
        client.usage()
    assert remote.calls == 1


def test_gives_up_after_the_retries() -> None:
    remote = Flaky(100, 503)
    with (
        UsageClient(
            "http://remote", "k", retries=3, backoff=0.001, transport=httpx.MockTransport(remote)
        ) as client,
        pytest.raises(ApiError) as error,
    ):
        client.usage()
    assert remote.calls == 4 and error.value.status == 503


def test_connection_errors_are_retried_then_reported() -> None:
    calls = 0

    def refuse(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused", request=request)

    with (
        UsageClient(
            "http://remote", "k", retries=2, backoff=0.001, transport=httpx.MockTransport(refuse)
        ) as client,
        pytest.raises(TransportError),
    ):
        client.usage()
    assert calls == 3


def test_a_server_without_paging_is_read_in_one_request() -> None:
    remote = Flaky(0, 200)
    with UsageClient("http://remote", "k", transport=httpx.MockTransport(remote)) as client:
        assert list(client.iter_sessions()) == []
    assert remote.calls == 1


def remote_answering(
    document: object, status: int = 200
) -> tuple[UsageClient, list[httpx.Request]]:
    """A client of a remote that answers every request with ``document``."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(document, bytes):
            return httpx.Response(status, content=document)
        return httpx.Response(status, json=document)

    return UsageClient(
        "http://remote", "k", backoff=0.001, transport=httpx.MockTransport(answer)
    ), seen


def test_fields_a_server_adds_are_ignored() -> None:
    figures = {"meetings": 1, "seconds": 60, "average": 60}
    session = {
        "id": "s",
        "agent": "a@b.co",
        "start": "2026-11-01T10:00:00Z",
        "end": "2026-11-01T10:01:00Z",
        "duration": 60,
        "shares": [],
        "viewers": {
            "count": 1,
            "locations": [{"country": "IS", "region": None, "city": None, "count": 1, "lat": 64.1}],
        },
        "rating": 5,
    }
    document = {
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-11-02T00:00:00Z",
        "stats": {"total": figures, "per_agent": {"a@b.co": figures}, "extra": {}},
        "sessions": [session],
        "next_cursor": None,
        "generated": "now",
    }
    client, _ = remote_answering(document)
    usage = client.usage()
    assert usage.stats is not None and usage.stats.per_agent["a@b.co"].seconds == 60
    assert usage.sessions[0].locations[0].country == "IS"
    assert [s.id for s in client.iter_sessions()] == ["s"]
    writes, _ = remote_answering({"received": 1, "created": 1, "replaced": 0, "took_ms": 3})
    assert writes.post_sessions([]).created == 1


@pytest.mark.parametrize(
    "answer", [b"<html>not json</html>", {}, [], {"from": "x", "to": "y", "stats": 5}]
)
def test_an_answer_that_is_not_this_apis_is_a_protocol_error(answer: object) -> None:
    client, _ = remote_answering(answer)
    with pytest.raises(ProtocolError):
        client.usage()


def test_a_server_that_refuses_paging_is_asked_once_more_without_it() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if "limit" in request.url.params:
            error = {"code": "invalid_parameter", "message": "no", "parameter": "limit"}
            return httpx.Response(400, json={"error": error})
        return Flaky(0, 200)(request)

    with UsageClient("http://remote", "k", transport=httpx.MockTransport(answer)) as client:
        assert list(client.iter_sessions()) == []
    assert len(calls) == 2 and "limit" not in calls[1].url.params


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = datetime.now(UTC).timestamp() + 2
    remote = Flaky(1, 503, {"Retry-After": email.utils.formatdate(when, usegmt=True)})
    began = time.monotonic()
    with UsageClient(
        "http://remote", "k", backoff=0.001, transport=httpx.MockTransport(remote)
    ) as client:
        client.usage()
    assert remote.calls == 2 and time.monotonic() - began >= 0.9


@pytest.mark.parametrize("url", ["notaurl", "ftp://example.com", "http://"])
def test_a_url_that_is_not_http_is_refused_at_once(url: str) -> None:
    with pytest.raises(ClientError, match="URL"):
        UsageClient(url, "k")


def test_sessions_named_dot_and_dot_dot_are_reachable(live: Live) -> None:
    with UsageClient(live.url, live.source.write_key) as client:
        client.post_sessions(
            [
                {"id": sid, "agent": "dots@example.com", "start": "2026-11-20T10:00:00Z"}
                for sid in (".", "..", "...")
            ]
        )
        assert [client.session(sid).id for sid in (".", "..", "...")] == [".", "..", "..."]


def test_only_the_first_page_asks_for_stats(live: Live) -> None:
    """Stats cover the whole window on every page: asking again is work thrown away."""
    seen: list[httpx.URL] = []
    with UsageClient(live.url, live.source.read_key) as client:
        client._http.event_hooks["request"].append(lambda request: seen.append(request.url))
        pages = list(client.iter_pages(**WINDOW, page_size=2))
    assert len(pages) == 4 and "stats" in pages[0]
    assert all("stats" not in page for page in pages[1:])
    assert [url.params.get("include") for url in seen] == [None, "sessions", "sessions", "sessions"]
