"""The retention sweep of a running server: at start, then every interval, or when asked."""

from __future__ import annotations

import logging
import threading

from sharelog.removal import Remover

log = logging.getLogger("sharelog.retention")


class Sweeper:
    """A daemon thread: sweeping is database work in batches, not request handling."""

    def __init__(self, remover: Remover, tombstone_days: int, interval_seconds: float) -> None:
        self.remover = remover
        self.tombstone_days = tombstone_days
        self.interval_seconds = interval_seconds
        self._poke = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retention-sweep", daemon=True)
        self._thread.start()

    def run_soon(self) -> None:
        self._poke.set()

    def stop(self) -> None:
        self._stop.set()
        self._poke.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.remover.sweep(self.tombstone_days)
            except Exception:  # the database may be away; the next round tries again
                log.warning("retention sweep failed", exc_info=True)
            self._poke.wait(self.interval_seconds)
            self._poke.clear()
