"""Request counters and latency histograms in Prometheus text format, with no dependency."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        self.latency_sum: dict[str, float] = defaultdict(float)
        self.counters: dict[str, int] = defaultdict(int)
        self.labelled: dict[str, dict[tuple[tuple[str, str], ...], int]] = defaultdict(
            lambda: defaultdict(int)
        )
        # Called at each scrape for figures read from elsewhere (the webhook queue).
        self.collectors: list[Callable[[], list[str]]] = []

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            self.latency[route][bisect.bisect_left(BUCKETS, seconds)] += 1
            self.latency_sum[route] += seconds

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def count_labelled(self, name: str, amount: int = 1, **labels: str) -> None:
        with self._lock:
            self.labelled[name][tuple(sorted(labels.items()))] += amount

    def render(self) -> str:
        lines = [
            "# HELP sharelog_http_requests_total HTTP requests by method, route and status.",
            "# TYPE sharelog_http_requests_total counter",
        ]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'sharelog_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP sharelog_http_request_duration_seconds Request latency by route.",
                "# TYPE sharelog_http_request_duration_seconds histogram",
            ]
            for route, counts in sorted(self.latency.items()):
                running = 0
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    running += n
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    lines.append(
                        f'sharelog_http_request_duration_seconds_bucket{{route="{route}",le="{le}"}} {running}'
                    )
                lines.append(
                    f'sharelog_http_request_duration_seconds_sum{{route="{route}"}} {self.latency_sum[route]:.6f}'
                )
                lines.append(
                    f'sharelog_http_request_duration_seconds_count{{route="{route}"}} {running}'
                )
            for name, n in sorted(self.counters.items()):
                lines += [f"# TYPE sharelog_{name} counter", f"sharelog_{name} {n}"]
            for name, series in sorted(self.labelled.items()):
                lines.append(f"# TYPE sharelog_{name} counter")
                for labels, n in sorted(series.items()):
                    shown = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
                    lines.append(f"sharelog_{name}{{{shown}}} {n}")
            collectors = list(self.collectors)
        for collect in collectors:
            lines += collect()
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
