"""A server's background work: a daemon thread that runs a round every interval."""

from __future__ import annotations

import logging
import threading


class Periodic:
    """Database work in batches, not request handling: its own thread, a round at
    start, then every ``interval_seconds`` or as soon as ``run_soon`` is called.
    A round that fails is logged and tried again at the next (the database may
    be away for a while)."""

    name = "periodic"

    def __init__(self, interval_seconds: float, log: logging.Logger) -> None:
        self.interval_seconds = interval_seconds
        self.log = log
        self._poke = threading.Event()
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def run_soon(self) -> None:
        self._poke.set()

    def stop(self) -> None:
        self.stopping.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.round()
            except Exception:
                self.log.warning("%s: the round failed", self.name, exc_info=True)
            self._poke.wait(self.interval_seconds)
            self._poke.clear()
