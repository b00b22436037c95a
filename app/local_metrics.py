"""Per-endpoint figures from serve-local's `GET /metrics` (the local backend's Operations tab).

The shape is what pipelines/local/server_metrics.py's ServerMetrics.snapshot() answers:
{"uptime_s", "endpoints": {name: {"requests", "errors", "client_errors", "server_errors",
"statuses": {"200": n, ...}, "latency_ms": {"p50", "p95", "p99", "mean", "window"}}}}; latency over the
server's recent window of requests. Rows have the columns of app/cloudwatch.py's, so both backends'
tables read alike. An endpoint with a challenger or shadow (model_registry/variants.py) also carries
"variants": {name: {"requests", "errors", "version", "shadow", "latency_ms": {...}}}: a row per variant
follows the endpoint's, "<endpoint> [<variant>]", side by side.
"""

from __future__ import annotations

from typing import Any

COLUMNS = ["endpoint", "invocations", "errors", "error kinds", "p50 ms", "p95 ms"]
UNNAMED = "-"  # serve-local counts requests that name no known endpoint under "-"


class MetricsFormatError(ValueError):
    """serve-local's /metrics answer is not the shape this app reads (the backend shows it in the tab)."""


def endpoint_rows(snapshot: Any) -> list[dict[str, Any]]:
    """One row per endpoint serve-local has seen a request for; MetricsFormatError when the answer is
    not the shape above (a serve-local from another checkout), naming what is missing."""
    endpoints = snapshot.get("endpoints") if isinstance(snapshot, dict) else None
    if not isinstance(endpoints, dict):
        raise MetricsFormatError(f"serve-local's /metrics has no 'endpoints' mapping: {str(snapshot)[:200]}")
    rows = []
    for name, figures in sorted(endpoints.items()):
        try:
            latency = figures["latency_ms"]
            errors = {int(status): int(n) for status, n in figures["statuses"].items() if int(status) >= 400}
            rows.append(
                {
                    "endpoint": "(no endpoint named)" if name == UNNAMED else name,
                    "invocations": int(figures["requests"]),
                    "errors": int(figures["errors"]),
                    "error kinds": ", ".join(f"{s}={n}" for s, n in sorted(errors.items())) or "-",
                    "p50 ms": round(float(latency["p50"]), 1),
                    "p95 ms": round(float(latency["p95"]), 1) if "p95" in latency else None,
                }
            )
            rows += variant_rows(name, figures.get("variants"))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MetricsFormatError(
                f"serve-local's /metrics entry for {name} lacks {error}: restart serve-local from this "
                "checkout (`make serve-local`)"
            ) from None
    return rows


def variant_rows(endpoint: str, variants: Any) -> list[dict[str, Any]]:
    """Rows of an endpoint's variants, when it has more than one (a lone live variant adds nothing)."""
    if not isinstance(variants, dict) or len(variants) < 2:
        return []
    rows = []
    for variant, got in sorted(variants.items()):
        latency = got["latency_ms"]
        role = "shadow" if got.get("shadow") else f"v{got.get('version')}"
        rows.append(
            {
                "endpoint": f"{endpoint} [{variant}: {role}]",
                "invocations": int(got["requests"]),
                "errors": int(got["errors"]),
                "error kinds": f"5xx={int(got.get('server_errors', 0))}",
                "p50 ms": round(float(latency["p50"]), 1),
                "p95 ms": round(float(latency["p95"]), 1) if "p95" in latency else None,
            }
        )
    return rows
