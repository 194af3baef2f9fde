"""The Python client against a real sharelog server, and its retries against a flaky remote."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx
import pytest

from sharelog.client import (
    ApiError,
    AsyncUsageClient,
    AuthenticationError,
    InvalidRequest,
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
