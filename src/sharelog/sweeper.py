"""The retention sweep of a running server: at start, then every interval, or when asked."""

from __future__ import annotations

import logging

from sharelog.background import Periodic
from sharelog.removal import Remover

log = logging.getLogger("sharelog.retention")


class Sweeper(Periodic):
    """The retention sweep: sessions past each account's retention, old tombstones."""

    name = "retention-sweep"

    def __init__(self, remover: Remover, tombstone_days: int, interval_seconds: float) -> None:
        super().__init__(interval_seconds, log)
        self.remover = remover
        self.tombstone_days = tombstone_days

    def round(self) -> None:
        self.remover.sweep(self.tombstone_days)
