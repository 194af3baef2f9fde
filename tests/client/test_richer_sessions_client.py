"""The client library and `sharelog usage --api usage_new` read the richer sessions."""

from __future__ import annotations

import csv
import io
import json

import httpx
from typer.testing import CliRunner

from sharelog.cli.main import app
from sharelog.client import AsyncUsageClient, UsageClient
from tests.client.conftest import SESSIONS, WINDOW, Live

runner = CliRunner()
ARGS = ["--from", "2026-11-01", "--to", "2026-11-10"]


def cli(live: Live, *args: str) -> str:
    result = runner.invoke(
        app, ["usage", "--url", live.url, "--key", live.source.read_key, *ARGS, *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sessions_carry_peak_webcam_agent_name_and_viewer_segments(live: Live) -> None:
    with UsageClient(live.url, live.source.read_key) as client:
        usage = client.usage(**WINDOW)
        assert {s.peak for s in usage.sessions} == {2}
        assert {s.webcam_seconds for s in usage.sessions} == {0}
        assert {s.agent_name for s in usage.sessions} == {None}
        one = client.session("s-0")
    assert one.viewers is not None
    v1 = next(v for v in one.viewers if v.id == "v-1")
    assert [(s.joined, s.left) for s in v1.segments] == [(v1.joined, None)]
    assert v1.watched_seconds == v1.seconds


def test_usage_new_from_the_client(live: Live) -> None:
    with UsageClient(live.url, live.source.read_key) as client:
        sessions = client.usage_new(**WINDOW)
        document = client.usage_new_document(**WINDOW)
    assert [s.session_id for s in sessions] == [s["session_id"] for s in document["sessions"]]
    assert len(sessions) == len(SESSIONS)
    first = sessions[0]
    assert first.session_ended and first.max_viewer_count == 2 and first.viewer_count == 2
    assert first.locations == ["Reykjavik, Iceland"]


async def _async_usage_new(live: Live) -> list[str]:
    async with AsyncUsageClient(live.url, live.source.read_key) as client:
        return [s.email for s in await client.usage_new(**WINDOW)]


def test_usage_new_from_the_async_client(live: Live) -> None:
    import asyncio

    emails = asyncio.run(_async_usage_new(live))
    assert sorted(set(emails)) == ["agent0@example.com", "agent1@example.com"]


def test_cli_usage_new_in_every_format(live: Live) -> None:
    served = httpx.get(
        f"{live.url}/ss/api/usage_new",
        params={"from": "2026-11-01", "to": "2026-11-10"},
        headers={"Authorization": f"Basic {live.source.read_key}"},
    ).json()
    assert json.loads(cli(live, "--api", "usage_new", "--format", "json")) == served
    lines = cli(live, "--api", "usage_new", "--format", "ndjson").splitlines()
    assert [json.loads(line) for line in lines] == served["sessions"]
    rows = list(csv.reader(io.StringIO(cli(live, "--api", "usage_new", "--format", "csv"))))
    assert rows[0][:2] == ["session_id", "email"] and rows[0][-2:] == [
        "max_viewer_count",
        "locations",
    ]
    assert len(rows) == 1 + len(SESSIONS) and rows[1][-1] == "Reykjavik, Iceland"
    table = cli(live, "--api", "usage_new")
    assert "s-0" in table and "Reykjavik, Iceland" in table


def test_cli_usage_table_shows_peak(live: Live) -> None:
    table = cli(live)
    assert "peak" in table and "agent name" in table
