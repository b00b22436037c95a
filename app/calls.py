"""The app's own record of its endpoint calls: count, errors and latency percentiles per endpoint.

Serving-side figures (serve-local's /metrics, CloudWatch) are the truth for an endpoint; this log is
what this app saw, which is all there is locally until serve-local reports metrics itself.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile `q` (0-100) of `values`; raises ValueError when empty."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Calls:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class CallLog:
    """Thread-safe: Gradio runs events of different tabs at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Calls] = defaultdict(_Calls)

    def record(self, endpoint: str, latency_ms: float, error: str | None = None) -> None:
        with self._lock:
            calls = self._calls[endpoint]
            calls.latencies_ms.append(latency_ms)
            if error:
                calls.errors[error] += 1

    def rows(self) -> list[dict[str, object]]:
        """One row an endpoint: invocations, errors (by kind), latency p50/p95 in ms."""
        with self._lock:
            snapshot = {name: (list(c.latencies_ms), dict(c.errors)) for name, c in self._calls.items()}
        rows = []
        for name, (latencies, errors) in sorted(snapshot.items()):
            rows.append(
                {
                    "endpoint": name,
                    "invocations": len(latencies),
                    "errors": sum(errors.values()),
                    "error kinds": ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "-",
                    "p50 ms": round(percentile(latencies, 50), 1),
                    "p95 ms": round(percentile(latencies, 95), 1),
                }
            )
        return rows
