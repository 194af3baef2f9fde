"""Every ``sh`` and ``python`` block of the docs runs against a real ``sharelog serve``.

One server for the module, on a free loopback port and a fresh SQLite file,
with a ``demo`` account and a read, a write and an admin key in ``$KEY``,
``$WKEY`` and ``$AKEY``. Before the first block of each page the account gets
the sessions of ``seed.json`` again (create or replace), so a page may rely on
them and on its own earlier blocks, never on another page. The documented
address ``http://127.0.0.1:8000`` is replaced by the server's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.docs.blocks import NEVER_RUN, RUNNABLE, Block, blocks_of, pages
from tests.servers import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("docs-examples")]

DOCUMENTED_URL = "http://127.0.0.1:8000"
SEED = Path(__file__).with_name("seed.json")
BLOCK_TIMEOUT = 60  # seconds; a long poll in the docs waits at most a few
# The whole run's bound: most of it is starting `sharelog` commands (a few seconds
# each on a busy machine); a page that adds many should mark some -norun.
TOTAL_BUDGET = 900
# curl fails on an error answer (exit 22) and prints the body; errors are short.
CURL = 'curl() { command curl --silent --show-error --fail-with-body --max-time 30 "$@"; }\n'

ALL_BLOCKS = [block for page in pages() for block in blocks_of(page)]
RUNNABLE_BLOCKS = [block for block in ALL_BLOCKS if block.info in RUNNABLE]


@dataclass
class DocsServer:
    server: ServerProcess
    env: dict[str, str]
    workdir: Path
    seeded_page: str = ""
    spent: float = 0.0

    def seed(self, page: str) -> None:
        if page == self.seeded_page:
            return
        response = httpx.post(
            f"{self.server.url}/ss/api/sessions",
            headers={"Authorization": f"Basic {self.env['WKEY']}"},
            json=json.loads(SEED.read_text()),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        self.seeded_page = page


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DocsServer]:
    workdir = tmp_path_factory.mktemp("docs-examples")
    database_url = f"sqlite:///{workdir / 'sharelog.db'}"
    # The webhook examples register a receiver on this machine and send nothing.
    server = ServerProcess(
        database_url,
        env={"SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true", "SHARELOG_DELIVER": "false"},
    )
    try:
        db = Database(database_url)
        with db.writing() as conn:
            account = account_store.create_account(conn, "demo", now_us())
            keys = {
                name: account_store.create_key(conn, account.id, scope, now_us())
                for name, scope in (
                    ("KEY", Scope.READ),
                    ("WKEY", Scope.WRITE),
                    ("AKEY", Scope.ADMIN),
                )
            }
        db.dispose()
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            **keys,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "SHARELOG_DATABASE_URL": database_url,
            "SHARELOG_URL": server.url,
            "SHARELOG_KEY": keys["KEY"],
            "NO_COLOR": "1",
        }
        yield DocsServer(server, env, workdir)
    finally:
        server.stop()


def _run(block: Block, docs: DocsServer) -> subprocess.CompletedProcess[str]:
    code = block.code.replace(DOCUMENTED_URL, docs.server.url)
    if block.info == "python":
        command = [sys.executable, "-c", code]
    else:
        command = ["bash", "-c", "set -euo pipefail\n" + CURL + code]
    return subprocess.run(
        command,
        cwd=docs.workdir,
        env=docs.env,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
    )


def _check(block: Block, result: subprocess.CompletedProcess[str]) -> None:
    report = (
        f"{block.name} ({block.info}) exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    if block.info == "sh-fails":
        assert result.returncode != 0, report
        assert '"error"' in result.stdout, report  # the server's JSON error, not a crash
    else:
        assert result.returncode == 0, report
        assert "Traceback" not in result.stderr, report


# One test per page, its blocks in order: a block may rely on the ones before it,
# and a scheduler never runs them out of order.
PAGES = sorted({block.page for block in RUNNABLE_BLOCKS})


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page: str, docs_server: DocsServer) -> None:
    assert docs_server.spent < TOTAL_BUDGET, f"the examples took over {TOTAL_BUDGET} s"
    started = time.monotonic()
    docs_server.seed(page)
    try:
        for block in (b for b in RUNNABLE_BLOCKS if b.page == page):
            _check(block, _run(block, docs_server))
    finally:
        docs_server.spent += time.monotonic() - started


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=lambda b: b.name)
def test_every_block_says_whether_it_runs(block: Block) -> None:
    assert block.info in RUNNABLE | NEVER_RUN, (
        f"{block.name}: info string {block.info!r}; use one of {sorted(RUNNABLE | NEVER_RUN)}"
    )


def test_the_examples_cover_every_page_with_runnable_code() -> None:
    """The runner sees the pages' examples: a parser that lost them would pass everything."""
    assert len(RUNNABLE_BLOCKS) >= 30
    assert any("curl" in b.code for b in RUNNABLE_BLOCKS)
    assert any(b.info == "python" for b in RUNNABLE_BLOCKS)
