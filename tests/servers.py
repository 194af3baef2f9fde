"""A real ``sharelog serve`` in a subprocess, for tests that need a whole server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``sharelog serve`` on 127.0.0.1 and a free port; ``stop`` or ``kill`` it."""

    def __init__(self, database_url: str, *args: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"sharelog-serve-{self.port}.log"
        environment = {**os.environ, "SHARELOG_DATABASE_URL": database_url, **(env or {})}
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sharelog", "serve", "--port", str(self.port), *args],
            env=environment,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"server not ready in {timeout}s: {self.log.read_text(errors='replace')}"
        )

    def worker_pids(self) -> list[int]:
        """The worker processes uvicorn spawned under this server, from /proc (not
        multiprocessing's resource tracker, also a child)."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                cmdline = (stat.parent / "cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    pids.append(int(stat.parent.name))
        return pids

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, the hardest stop there is."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log_file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()
