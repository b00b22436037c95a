"""Per-endpoint figures from CloudWatch's AWS/SageMaker namespace (the AWS backend's Operations tab).

Metric names, units and dimensions are AWS's: Invocations, Invocation4XXErrors, Invocation5XXErrors
(Sum) and ModelLatency (microseconds) per EndpointName and VariantName
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). The project's endpoints
have one variant, AllTraffic (model_registry/endpoint_spec.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

VARIANT = "AllTraffic"
WINDOW = timedelta(hours=24)
SUMS = {"invocations": "Invocations", "4xx": "Invocation4XXErrors", "5xx": "Invocation5XXErrors"}


def metric_queries(endpoint: str, index: int, period_s: int) -> list[dict[str, Any]]:
    """GetMetricData queries for one endpoint: the sums and ModelLatency p50/p95."""
    dimensions = [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": VARIANT}]

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
    queries += [query("p50", "ModelLatency", "p50"), query("p95", "ModelLatency", "p95")]
    return queries


def endpoint_rows(cloudwatch: Any, endpoints: list[str], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per endpoint over the last 24 hours; latency in ms (CloudWatch reports microseconds)."""
    end = now or datetime.now(UTC)
    period = int(WINDOW.total_seconds())
    queries = [q for i, name in enumerate(endpoints) for q in metric_queries(name, i, period)]
    values: dict[str, list[float]] = {}
    for page in cloudwatch.get_paginator("get_metric_data").paginate(
        MetricDataQueries=queries, StartTime=end - WINDOW, EndTime=end
    ):
        for result in page["MetricDataResults"]:
            values.setdefault(result["Id"], []).extend(result.get("Values", []))
    rows = []
    for i, name in enumerate(endpoints):

        def total(key: str, i: int = i) -> float:
            return float(sum(values.get(f"e{i}_{key}", [])))

        def latency(key: str, i: int = i) -> float | None:
            found = values.get(f"e{i}_{key}", [])
            return round(max(found) / 1000, 1) if found else None

        rows.append(
            {
                "endpoint": name,
                "invocations": int(total("invocations")),
                "errors": int(total("4xx") + total("5xx")),
                "error kinds": f"4xx={int(total('4xx'))}, 5xx={int(total('5xx'))}",
                "p50 ms": latency("p50"),
                "p95 ms": latency("p95"),
            }
        )
    return rows
