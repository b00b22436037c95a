"""Per-endpoint figures from CloudWatch's AWS/SageMaker namespace (the AWS backend's Operations tab).

Metric names, units and dimensions are AWS's: Invocations, Invocation4XXErrors, Invocation5XXErrors
(Sum) and ModelLatency (microseconds) per EndpointName and VariantName
(https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). An endpoint's live
variant is naming.LIVE_VARIANT; a challenger or shadow beside it has a variant of its own
(model_registry/variants.py), whose figures `variant_figures` reads side by side with the live one's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from model_registry.variant_metrics import (
    SUMS,
    VARIANT,
    WINDOW,
    metric_queries,
    metric_values,
    variant_figures,
)

__all__ = ["SUMS", "VARIANT", "WINDOW", "endpoint_rows", "metric_queries", "variant_figures"]


def endpoint_rows(cloudwatch: Any, endpoints: list[str], now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per endpoint over the last 24 hours; latency in ms (CloudWatch reports microseconds)."""
    end = now or datetime.now(UTC)
    period = int(WINDOW.total_seconds())
    queries = [q for i, name in enumerate(endpoints) for q in metric_queries(name, i, period)]
    values = metric_values(cloudwatch, queries, end)
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


def variant_names(sagemaker: Any, endpoint: str) -> list[str]:
    """The endpoint's production and shadow variants (DescribeEndpoint); none when it does not exist."""
    from botocore.exceptions import ClientError

    try:
        described = sagemaker.describe_endpoint(EndpointName=endpoint)
    except ClientError:
        return []
    return [
        v["VariantName"]
        for key in ("ProductionVariants", "ShadowProductionVariants")
        for v in described.get(key) or []
    ]


def variant_figure_rows(
    sagemaker: Any, cloudwatch: Any, endpoint: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """ "<endpoint> [<variant>]" rows when the endpoint has more than one variant (else none: the
    endpoint's own row says it all)."""
    variants = variant_names(sagemaker, endpoint)
    if len(variants) < 2:
        return []
    rows = []
    for variant, got in variant_figures(cloudwatch, endpoint, variants, now=now, tail="p95").items():
        rows.append(
            {
                "endpoint": f"{endpoint} [{variant}]",
                "invocations": got["requests"],
                "errors": got["errors"],
                "p50 ms": got["latency_ms"]["p50"],
                "p95 ms": got["latency_ms"]["p95"],
            }
        )
    return rows
