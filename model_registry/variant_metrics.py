"""CloudWatch figures of an endpoint's variants (AWS/SageMaker namespace, VariantName dimension).

Metric names, units and dimensions are AWS's: Invocations, Invocation4XXErrors, Invocation5XXErrors
(Sum) and ModelLatency (microseconds) per EndpointName and VariantName
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). Read by the registry CLI's
`variants` command and the web app's Operations tab (app/cloudwatch.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from model_registry.naming import LIVE_VARIANT

VARIANT = LIVE_VARIANT
WINDOW = timedelta(hours=24)
SUMS = {"invocations": "Invocations", "4xx": "Invocation4XXErrors", "5xx": "Invocation5XXErrors"}


def metric_queries(
    endpoint: str, index: int, period_s: int, variant: str = VARIANT, tail: str = "p95"
) -> list[dict[str, Any]]:
    """GetMetricData queries for one endpoint variant: the sums and ModelLatency p50 and `tail`."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}]

    def query(key: str, metric: str, stat: str) -> dict[str, Any]:
        return {
            "Id": f"e{index}_{key}",
            "MetricStat": {
                "Metric": {"Namespace": "AWS/SageMaker", "MetricName": metric, "Dimensions": dimensions},
                "Period": period_s,
                "Stat": stat,
            },
        }

    queries = [query(key, metric, "Sum") for key, metric in SUMS.items()]
    queries += [query("p50", "ModelLatency", "p50"), query(tail, "ModelLatency", tail)]
    return queries


def metric_values(cloudwatch: Any, queries: list[dict[str, Any]], end: datetime) -> dict[str, list[float]]:
    """{query id: its values} of GetMetricData over the WINDOW before `end`, all pages."""
    values: dict[str, list[float]] = {}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=end - WINDOW, EndTime=end
    ):
        for result in page["MetricDataResults"]:
            values.setdefault(result["Id"], []).extend(result.get("Values", []))
    return values


def variant_figures(
    cloudwatch: Any, endpoint: str, variants: list[str], now: datetime | None = None, tail: str = "p99"
) -> dict[str, dict[str, Any]]:
    """{variant: {requests, errors, latency_ms: {p50, <tail>}}} over the last 24 hours, in the shape of
    serve-local's /metrics variants (whose tail is p99)."""
    end = now or datetime.now(UTC)
    period = int(WINDOW.total_seconds())
    queries = [q for i, v in enumerate(variants) for q in metric_queries(endpoint, i, period, v, tail)]
    values = metric_values(cloudwatch, queries, end)
    figures = {}
    for i, variant in enumerate(variants):

        def total(key: str, i: int = i) -> int:
            return int(sum(values.get(f"e{i}_{key}", [])))

        def latency(key: str, i: int = i) -> float | None:
            found = values.get(f"e{i}_{key}", [])
            return round(max(found) / 1000, 1) if found else None

        figures[variant] = {
            "requests": total("invocations"),
            "errors": total("4xx") + total("5xx"),
            "latency_ms": {"p50": latency("p50"), tail: latency(tail)},
        }
    return figures
