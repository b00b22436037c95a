"""What `GET /metrics` reports: requests, errors and latency per endpoint since the server started.

Kept in memory and bounded: counters per (endpoint, status) and the latest `WINDOW` latencies per
endpoint, from which p50/p95/p99 are read (a sliding window, as a dashboard wants the recent figures).
Requests that name no known endpoint count under "-". JSON for the app and dashboard, or the
Prometheus text format (summary + counters) for a scraper.

Per variant too (model_registry/variants.py): each endpoint's figures carry `variants`, the same
figures per production or shadow variant (CloudWatch's VariantName dimension, locally), so a live
version and its challenger are compared side by side. A shadow's requests are copies: they count under
its variant, not in the endpoint's own figures (the client sent them once). The live variant keeps its
name when a promotion gives it a new version, so a variant's figures are those of the version it serves
now (`version`); the versions it served before keep their request counts under `earlier`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

WINDOW = 2048


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class ServerMetrics:
    """Thread-safe counters and latency windows per endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, Counter[int]] = {}
        self._latencies: dict[str, deque[float]] = {}
        self._seconds: dict[str, float] = {}
        self._variants: dict[tuple[str, str], dict[int | None, _Figures]] = {}
        self._shadows: set[tuple[str, str]] = set()
        self.started = time.time()

    @staticmethod
    def clock() -> float:
        """The time a request starts and ends by (seconds, monotonic); one place, so a test can set it."""
        return time.perf_counter()

    def record(
        self,
        endpoint: str,
        status: int,
        started: float,
        variant: str | None = None,
        shadow: bool = False,
        version: int | None = None,
    ) -> None:
        """One request of `endpoint`; with `variant` (serving `version`), also under that variant (a
        shadow copy only there)."""
        elapsed = self.clock() - started
        with self._lock:
            if not shadow:
                self._statuses.setdefault(endpoint, Counter())[status] += 1
                self._latencies.setdefault(endpoint, deque(maxlen=WINDOW)).append(elapsed)
                self._seconds[endpoint] = self._seconds.get(endpoint, 0.0) + elapsed
            if variant is not None:
                by_version = self._variants.setdefault((endpoint, variant), {})
                figures = by_version.get(version)
                if figures is None:
                    figures = by_version[version] = _Figures()  # the newest version comes last
                figures.add(status, elapsed)
                if shadow:
                    self._shadows.add((endpoint, variant))

    def snapshot(self) -> dict[str, Any]:
        """{"uptime_s", "endpoints": {name: {requests, errors, client_errors, server_errors, statuses,
        latency_ms: {p50, p95, p99, mean, window}}}} (the app's Operations tab reads this shape)."""
        with self._lock:
            endpoints = {}
            for name, statuses in sorted(self._statuses.items()):
                window = list(self._latencies[name])
                requests = sum(statuses.values())
                client = sum(n for s, n in statuses.items() if 400 <= s < 500)
                server = sum(n for s, n in statuses.items() if s >= 500)
                endpoints[name] = {
                    "requests": requests,
                    "errors": client + server,
                    "client_errors": client,
                    "server_errors": server,
                    "statuses": {str(s): n for s, n in sorted(statuses.items())},
                    "latency_ms": {
                        "p50": round(_quantile(window, 0.50) * 1000, 3),
                        "p95": round(_quantile(window, 0.95) * 1000, 3),
                        "p99": round(_quantile(window, 0.99) * 1000, 3),
                        "mean": round(self._seconds[name] / requests * 1000, 3),
                        "window": len(window),
                    },
                }
            for (name, variant), by_version in sorted(self._variants.items()):
                *before, (version, figures) = by_version.items()
                entry = endpoints.get(name)
                if entry is None:  # a shadow copy is recorded after its request: never first
                    continue
                entry.setdefault("variants", {})[variant] = {
                    **figures.summary(),
                    "version": version,
                    "shadow": (name, variant) in self._shadows,
                    "earlier": {str(v): sum(f.statuses.values()) for v, f in before},
                }
        return {"uptime_s": round(time.time() - self.started, 1), "endpoints": endpoints}

    def prometheus(self) -> str:
        """The same figures in the Prometheus text exposition format."""
        lines = [
            "# HELP serve_local_requests_total Requests per endpoint and HTTP status.",
            "# TYPE serve_local_requests_total counter",
        ]
        with self._lock:
            for name, statuses in sorted(self._statuses.items()):
                for status, count in sorted(statuses.items()):
                    lines.append(f'serve_local_requests_total{{endpoint="{name}",status="{status}"}} {count}')
            lines += [
                "# HELP serve_local_latency_seconds Request latency per endpoint (recent window).",
                "# TYPE serve_local_latency_seconds summary",
            ]
            for name, window in sorted(self._latencies.items()):
                values = list(window)
                for q in (0.5, 0.95, 0.99):
                    value = _quantile(values, q)
                    lines.append(
                        f'serve_local_latency_seconds{{endpoint="{name}",quantile="{q}"}} {value:.6f}'
                    )
                lines.append(
                    f'serve_local_latency_seconds_sum{{endpoint="{name}"}} {self._seconds[name]:.6f}'
                )
                count = sum(self._statuses[name].values())
                lines.append(f'serve_local_latency_seconds_count{{endpoint="{name}"}} {count}')
            lines += [
                "# HELP serve_local_variant_requests_total Requests per endpoint variant and HTTP status.",
                "# TYPE serve_local_variant_requests_total counter",
            ]
            for (name, variant), by_version in sorted(self._variants.items()):
                for version, figures in by_version.items():
                    for status, count in sorted(figures.statuses.items()):
                        lines.append(
                            f'serve_local_variant_requests_total{{endpoint="{name}",variant="{variant}",'
                            f'version="{version}",status="{status}"}} {count}'
                        )
        return "\n".join(lines) + "\n"


class _Figures:
    """Counters and a latency window of one variant (guarded by ServerMetrics' lock)."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.latencies: deque[float] = deque(maxlen=WINDOW)
        self.seconds = 0.0

    def add(self, status: int, elapsed: float) -> None:
        self.statuses[status] += 1
        self.latencies.append(elapsed)
        self.seconds += elapsed

    def summary(self) -> dict[str, Any]:
        requests = sum(self.statuses.values())
        window = list(self.latencies)
        errors = sum(n for s, n in self.statuses.items() if s >= 400)
        return {
            "requests": requests,
            "errors": errors,
            "server_errors": sum(n for s, n in self.statuses.items() if s >= 500),
            "latency_ms": {
                "p50": round(_quantile(window, 0.50) * 1000, 3),
                "p95": round(_quantile(window, 0.95) * 1000, 3),
                "p99": round(_quantile(window, 0.99) * 1000, 3),
                "mean": round(self.seconds / requests * 1000, 3) if requests else 0.0,
            },
        }
