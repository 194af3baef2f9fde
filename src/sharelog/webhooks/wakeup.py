"""Wake this process's sender when a commit has queued messages (else it polls)."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class Wakeup:
    """Set from any thread; awaited by one asyncio loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def attach(self) -> asyncio.Event:
        """Called by the sender, in its loop: the event ``wake`` sets."""
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            return self._event

    def detach(self) -> None:
        with self._lock:
            self._loop = self._event = None

    def wake(self) -> None:
        with self._lock:
            loop, event = self._loop, self._event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(event.set)


# One per process: ingestion wakes it after a commit that queued messages.
wakeup = Wakeup()
