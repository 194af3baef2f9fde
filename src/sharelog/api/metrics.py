"""Prometheus metrics with prometheus_client, correct across worker processes.

With several workers (``sharelog serve --workers N``), ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start;
each worker then writes its samples there and any worker's ``/metrics`` adds
them all up (prometheus_client's multiprocess mode). With one process the
figures live in memory, in a registry of the app's own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# A *_created series per counter doubles the scrape for nothing a dashboard uses.
disable_created_metrics()  # type: ignore[no-untyped-call]


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # In multiprocess mode samples go to files, whatever registry a metric names.
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters: dict[str, Counter] = {}
        self.requests = Counter(
            "sharelog_http_requests",
            "HTTP requests by method, route and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "sharelog_http_request_duration_seconds",
            "Request latency by route.",
            ("route",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Called at each scrape for figures read from elsewhere (the webhook queue).
        self.collectors: list[Callable[[], list[str]]] = []

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def _counter(self, name: str, labels: tuple[str, ...]) -> Counter:
        with self._lock:
            counter = self._counters.get(name)
            if counter is None:
                counter = self._counters[name] = Counter(
                    f"sharelog_{name.removesuffix('_total')}",
                    name.replace("_", " "),
                    labels,
                    registry=self.registry,
                )
            return counter

    def count(self, name: str, amount: int = 1) -> None:
        self._counter(name, ()).inc(amount)

    def count_labelled(self, name: str, amount: int = 1, **labels: str) -> None:
        self._counter(name, tuple(sorted(labels))).labels(**labels).inc(amount)

    def render(self) -> str:
        if multiprocess():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            text = generate_latest(registry).decode()
        else:
            text = generate_latest(self.registry).decode()
        lines = [line for collect in list(self.collectors) for line in collect()]
        return text + ("\n".join(lines) + "\n" if lines else "")
