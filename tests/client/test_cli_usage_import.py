"""`sharelog usage` and `sharelog import` against a real server, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from sharelog.cli.main import app
from tests.client.conftest import SESSIONS, Live
from tests.conftest import make_tenant, session_body
from tests.servers import free_port

runner = CliRunner()
WINDOW = ["--from", "2026-11-01", "--to", "2026-11-10"]


def usage(live: Live, *args: str, key: str | None = None) -> str:
    result = runner.invoke(
        app, ["usage", "--url", live.url, "--key", key or live.source.read_key, *WINDOW, *args]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def api_document(live: Live, key: str) -> dict:  # type: ignore[type-arg]
    return httpx.get(
        f"{live.url}/ss/api/usage",
        params={"from": "2026-11-01", "to": "2026-11-10"},
        headers={"Authorization": f"Basic {key}"},
    ).json()


def test_json_is_the_apis_document(live: Live) -> None:
    document = json.loads(usage(live, "--format", "json"))
    assert document["stats"] == api_document(live, live.source.read_key)["stats"]
    assert len(document["sessions"]) == len(SESSIONS)


def test_ndjson_and_csv_to_a_file(live: Live, tmp_path: Path) -> None:
    out = tmp_path / "usage.ndjson"
    usage(live, "--format", "ndjson", "--output", str(out))
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["id"] for s in lines] == [
        s["id"] for s in api_document(live, live.source.read_key)["sessions"]
    ]
    rows = list(
        csv.reader(io.StringIO(usage(live, "--format", "csv", "--agent", "agent0@example.com")))
    )
    assert rows[0] == [
        "id",
        "agent",
        "start",
        "end",
        "duration",
        "shares",
        "viewers",
        "countries",
        "peak",
        "agent_name",
    ]
    assert {r[1] for r in rows[1:]} == {"agent0@example.com"} and len(rows) == 5
    assert rows[1][5:8] == ["1", "2", "IS"]


def test_table_shows_totals_and_agents(live: Live) -> None:
    text = usage(live)
    assert f"{len(SESSIONS)} meetings" in text
    assert "agent0@example.com" in text and "agent1@example.com" in text
    # Every session's row whole, even where the default width (80) would cut it.
    for session in SESSIONS:
        start = str(session["start"])
        assert f"│ {session['id']} " in text and start in text, (start, text)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--key", "slk_refused"], 3),
        (["--from", "someday"], 2),
        (["--format", "xml"], 2),
    ],
)
def test_exit_codes(live: Live, args: list[str], code: int) -> None:
    base = ["usage", "--url", live.url, "--key", live.source.read_key]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output


def test_an_unreachable_server_is_exit_4_with_one_line() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sharelog",
            "usage",
            "--url",
            f"http://127.0.0.1:{free_port()}",
            "--key",
            "k",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 4
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_import_from_a_file_then_again_changes_nothing(live: Live, tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    usage(live, "--format", "ndjson", "--output", str(export))
    command = ["import", str(export), "--url", live.url, "--key", live.target.write_key]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    after_first = api_document(live, live.target.read_key)
    second = runner.invoke(app, command)
    assert second.exit_code == 0 and "0 created" in second.output
    assert api_document(live, live.target.read_key) == after_first
    source = api_document(live, live.source.read_key)
    assert after_first["stats"] == source["stats"]
    by_id = {s["id"]: s for s in after_first["sessions"]}
    for session in source["sessions"]:
        copied = by_id[session["id"]]
        assert (copied["agent"], copied["start"], copied["end"], copied["shares"]) == (
            session["agent"],
            session["start"],
            session["end"],
            session["shares"],
        )
        assert copied["viewers"] == session["viewers"]


def test_import_from_another_server_keeps_the_viewers(live: Live) -> None:
    result = runner.invoke(
        app,
        [
            "import",
            "--url",
            live.url,
            "--key",
            live.target.write_key,
            "--source-url",
            live.url,
            "--source-key",
            live.source.read_key,
            *WINDOW,
        ],
    )
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Basic {live.target.read_key}"}
    copied = httpx.get(f"{live.url}/ss/api/sessions/s-0", headers=headers).json()
    original = httpx.get(
        f"{live.url}/ss/api/sessions/s-0",
        headers={"Authorization": f"Basic {live.source.read_key}"},
    ).json()
    assert copied["viewers"]["list"] == original["viewers"]["list"]


def test_import_needs_one_source() -> None:
    result = runner.invoke(app, ["import", "--url", "http://127.0.0.1:1", "--key", "k"])
    assert result.exit_code == 2


def test_a_copy_between_servers_keeps_durations_of_fractional_instants(live: Live) -> None:
    # Exports write whole seconds: 10:00:00.900 to 10:30:00.100 reads as
    # 10:00:00 to 10:30:00, 1800 s, where the exact duration is 1799 s.
    source, target = make_tenant(live.db, "fraction-src"), make_tenant(live.db, "fraction-dst")
    fractional = [
        session_body(
            f"f-{i}",
            start=f"2026-11-03T10:0{i}:00.900Z",
            end=f"2026-11-03T10:3{i}:00.100Z",
            viewers=[
                {
                    "id": "v",
                    "joined": f"2026-11-03T10:0{i}:01.900Z",
                    "left": "2026-11-03T10:20:00.1Z",
                }
            ],
        )
        for i in range(3)
    ]
    httpx.post(
        f"{live.url}/ss/api/sessions",
        json={"sessions": fractional},
        headers={"Authorization": f"Basic {source.write_key}"},
    ).raise_for_status()
    command = ["import", "--url", live.url, "--key", target.write_key]
    result = runner.invoke(
        app, [*command, "--source-url", live.url, "--source-key", source.read_key, *WINDOW]
    )
    assert result.exit_code == 0, result.output
    original, copied = api_document(live, source.read_key), api_document(live, target.read_key)
    assert original["stats"]["total"]["seconds"] == 3 * 1799
    assert copied["stats"] == original["stats"]
    assert [s["duration"] for s in copied["sessions"]] == [1799] * 3

    def viewer_seconds(key: str) -> int:
        headers = {"Authorization": f"Basic {key}"}
        detail = httpx.get(f"{live.url}/ss/api/sessions/f-0", headers=headers).json()
        return int(detail["viewers"]["list"][0]["seconds"])

    assert viewer_seconds(target.read_key) == viewer_seconds(source.read_key) == 1198


def test_a_malformed_file_is_exit_2_with_one_line(live: Live, tmp_path: Path) -> None:
    command = ["import", "--url", live.url, "--key", live.target.write_key]
    for name, content in [
        ("no-start.json", '{"id": "x1", "agent": "a@b.co"}'),
        ("not-objects.json", '[{"id": "x2", "agent": "a@b.co", "start": 1}, 5]'),
        ("bad-share.ndjson", '{"id": "x3", "agent": "a@b.co", "start": 1, "shares": [{}]}'),
    ]:
        path = tmp_path / name
        path.write_text(content)
        result = runner.invoke(app, [*command, str(path)])
        assert result.exit_code == 2, (name, result.output)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("url", ["notaurl", "ftp://x", "http://"])
def test_a_url_that_is_not_http_is_exit_2_at_once(url: str) -> None:
    began = time.monotonic()
    result = runner.invoke(app, ["usage", "--url", url, "--key", "k"])
    assert result.exit_code == 2, result.output
    assert time.monotonic() - began < 2  # refused, not retried


@pytest.mark.slow
@pytest.mark.parametrize("form", ["array", "document", "ndjson"])
def test_a_large_file_imports_in_bounded_memory(live: Live, tmp_path: Path, form: str) -> None:
    """60 MB of sessions: read whole, the file and its objects alone would pass 150 MB."""
    title = "t" * 1000
    path = tmp_path / f"big.{form}"
    count = 6000
    with path.open("wb") as out:
        rows = (
            orjson.dumps(
                {
                    "id": f"big-{form}-{i}",
                    "agent": "big@example.com",
                    "start": "2026-10-01T10:00:00Z",
                    "end": "2026-10-01T11:00:00Z",
                    "shares": [{"at": "2026-10-01T10:00:01Z", "type": "tab", "title": title}] * 10,
                }
            )
            for i in range(count)
        )
        if form == "ndjson":
            for row in rows:
                out.write(row + b"\n")
        else:
            out.write(b'{"sessions": [' if form == "document" else b"[")
            for i, row in enumerate(rows):
                out.write((b"," if i else b"") + row)
            out.write(b"]}" if form == "document" else b"]")
    assert path.stat().st_size > 60_000_000
    script = (
        "import resource, sys\n"
        "from sharelog.cli.main import app\n"
        "try:\n"
        "    app(sys.argv[1:], standalone_mode=False)\n"
        "finally:\n"
        "    print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "import",
            "--url",
            live.url,
            "--key",
            live.target.write_key,
            str(path),
        ],
        capture_output=True,
        timeout=600,
    )
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert f"imported {count:,} sessions" in output
    peak_mb = int(output.split("maxrss_kb")[1].split()[0]) / 1024
    assert peak_mb < 150, peak_mb
