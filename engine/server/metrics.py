"""Prometheus text metrics: request counts and latency by route, plus store gauges.

Counters live in this process (each server exposes its own); run counts come
from the store, so they are the same on every server.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], list[float]] = {}
        self.logins: dict[str, int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1
            hist = self.latency.setdefault((method, route), [0.0] * (len(BUCKETS) + 2))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[-2] += 1          # count (+Inf)
            hist[-1] += seconds    # sum

    def login(self, outcome: str) -> None:
        with self._lock:
            self.logins[outcome] += 1

    def render(self, gauges: dict[str, Any]) -> str:
        out = ["# HELP flowdesk_http_requests_total HTTP requests answered, by route and status.",
               "# TYPE flowdesk_http_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(f'flowdesk_http_requests_total{{method="{method}",'
                           f'route="{_label(route)}",status="{status}"}} {n}')
            out += ["# HELP flowdesk_http_request_duration_seconds Time to answer a request.",
                    "# TYPE flowdesk_http_request_duration_seconds histogram"]
            for (method, route), hist in sorted(self.latency.items()):
                labels = f'method="{method}",route="{_label(route)}"'
                for i, bound in enumerate(BUCKETS):
                    out.append(f'flowdesk_http_request_duration_seconds_bucket{{{labels},'
                               f'le="{bound}"}} {int(hist[i])}')
                out.append(f'flowdesk_http_request_duration_seconds_bucket{{{labels},'
                           f'le="+Inf"}} {int(hist[-2])}')
                out.append(f"flowdesk_http_request_duration_seconds_count{{{labels}}} "
                           f"{int(hist[-2])}")
                out.append(f"flowdesk_http_request_duration_seconds_sum{{{labels}}} "
                           f"{hist[-1]:.6f}")
            out += ["# HELP flowdesk_logins_total Login attempts by outcome.",
                    "# TYPE flowdesk_logins_total counter"]
            for outcome, n in sorted(self.logins.items()):
                out.append(f'flowdesk_logins_total{{outcome="{outcome}"}} {n}')
        out += ["# HELP flowdesk_runs Runs in the store by status.", "# TYPE flowdesk_runs gauge"]
        for status, n in sorted(gauges.get("runs", {}).items()):
            out.append(f'flowdesk_runs{{status="{status}"}} {n}')
        out += ["# HELP flowdesk_worker_active_runs Runs executing in this server's worker.",
                "# TYPE flowdesk_worker_active_runs gauge",
                f"flowdesk_worker_active_runs {gauges.get('active', 0)}",
                "# HELP flowdesk_uptime_seconds Seconds since this server started.",
                "# TYPE flowdesk_uptime_seconds gauge",
                f"flowdesk_uptime_seconds {time.time() - self.started:.3f}"]
        return "\n".join(out) + "\n"
