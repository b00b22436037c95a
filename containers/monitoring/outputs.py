"""What the monitoring job leaves behind for people and alarms: an HTML report and CloudWatch metric lines.

Metric lines follow Model Monitor's bring-your-own-container form (AWS docs, "CloudWatch Metrics for
Bring Your Own Containers"): one JSON a line under /opt/ml/output/metrics/cloudwatch, `MetricName`,
`Timestamp`, `Dimensions` (Endpoint, MonitoringSchedule), `Value`. Model Monitor publishes that file
itself; our own schedule (a processing job, no Model Monitor) publishes the same lines with
cloudwatch:PutMetricData (publish_metrics), into METRIC_NAMESPACE. Names: `constraint_violations`,
`records`, `feature_baseline_drift_<feature>` (the PSI; for distinct_reply_rate the rate itself) and
`feature_data_<feature>` (the window mean of numeric signals), as Model Monitor names its own.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from containers.monitoring.drift import DriftResult

METRIC_NAMESPACE = "StrangerThingsNlp/Monitoring"
VIOLATIONS_METRIC = "constraint_violations"
RECORDS_METRIC = "records"
DRIFT_PREFIX = "feature_baseline_drift_"
DATA_PREFIX = "feature_data_"


def metric_lines(
    statistics: dict[str, Any],
    results: list[DriftResult],
    violations: list[dict[str, str]],
    endpoint: str,
    schedule: str,
    when: datetime,
) -> list[dict[str, Any]]:
    """CloudWatch metric records for one window."""
    dimensions = [{"Name": "Endpoint", "Value": endpoint}, {"Name": "MonitoringSchedule", "Value": schedule}]
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def line(name: str, value: float, unit: str = "None") -> dict[str, Any]:
        return {
            "MetricName": name,
            "Timestamp": stamp,
            "Dimensions": dimensions,
            "Value": float(value),
            "Unit": unit,
        }

    lines = [
        line(VIOLATIONS_METRIC, len(violations), "Count"),
        line(RECORDS_METRIC, statistics["dataset"]["item_count"], "Count"),
    ]
    lines += [line(DRIFT_PREFIX + r.feature, r.statistic) for r in results]
    for feature in statistics["features"]:
        numeric = feature.get("numerical_statistics")
        if numeric and numeric["common"]["num_present"]:
            lines.append(line(DATA_PREFIX + feature["name"], numeric["mean"]))
    return lines


def write_metric_lines(folder: Path, lines: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.jsonl"
    path.write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in lines), encoding="utf-8")
    return path


def put_metric_data_requests(
    lines: list[dict[str, Any]], namespace: str = METRIC_NAMESPACE
) -> list[dict[str, Any]]:
    """cloudwatch:PutMetricData requests for the lines (at most 1000 metrics a call, the API's limit)."""
    data = [
        {
            "MetricName": x["MetricName"],
            "Timestamp": datetime.strptime(x["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
            "Dimensions": x["Dimensions"],
            "Value": x["Value"],
            "Unit": x["Unit"],
        }
        for x in lines
    ]
    return [{"Namespace": namespace, "MetricData": data[i : i + 1000]} for i in range(0, len(data), 1000)]


def publish_metrics(lines: list[dict[str, Any]], region: str | None = None) -> int:
    """Send the lines to CloudWatch (the job's role needs cloudwatch:PutMetricData); returns the count."""
    import boto3  # only a job that publishes needs it

    client = boto3.client("cloudwatch", region_name=region)
    for request in put_metric_data_requests(lines):
        client.put_metric_data(**request)
    return len(lines)


def bin_labels(edges: list[float]) -> list[str]:
    """What each numeric bin holds, for a person ('<= 2', '3', '4 to 5', '> 7'; bin i is (e[i-1], e[i]])."""

    def fmt(x: float) -> str:
        return f"{x:g}" if float(x).is_integer() else f"{x:.3g}"

    def between(low: float, high: float) -> str:
        if float(low).is_integer() and float(high).is_integer():  # counts: say which whole numbers
            return fmt(high) if high - low == 1 else f"{fmt(low + 1)} to {fmt(high)}"
        return f"over {fmt(low)} to {fmt(high)}"

    if not edges:
        return ["all"]
    labels = [f"<= {fmt(edges[0])}"] + [between(low, high) for low, high in pairwise(edges)]
    return [*labels, f"> {fmt(edges[-1])}"]


def _bar(share: float) -> str:
    return f'<span class="bar" style="width:{max(share * 200, 1):.0f}px"></span>'


def _feature_rows(baseline: dict[str, Any], window: dict[str, Any]) -> str:
    rows = []
    base = {f["name"]: f for f in baseline["features"]}
    for feature in window["features"]:
        name = feature["name"]
        if "numerical_statistics" in feature:
            b, w = base[name]["numerical_statistics"], feature["numerical_statistics"]
            hist_b, hist_w = (
                b["distribution"]["histogram"]["counts"],
                w["distribution"]["histogram"]["counts"],
            )
            labels = bin_labels(b["distribution"]["histogram"]["edges"])
            cells = "".join(
                f"<tr><td>{html.escape(label)}</td><td>{_bar(cb / max(sum(hist_b), 1))}</td>"
                f"<td>{_bar(cw / max(sum(hist_w), 1))}</td></tr>"
                for label, cb, cw in zip(labels, hist_b, hist_w, strict=True)
            )
            summary = f"mean {w['mean']:.3f} (baseline {b['mean']:.3f})"
        else:
            b_buckets = {
                x["value"]: x["count"]
                for x in base[name]["string_statistics"]["distribution"]["categorical"]["buckets"]
            }
            w_buckets = {
                x["value"]: x["count"]
                for x in feature["string_statistics"]["distribution"]["categorical"]["buckets"]
            }
            nb, nw = max(sum(b_buckets.values()), 1), max(sum(w_buckets.values()), 1)
            cells = "".join(
                f"<tr><td>{html.escape(v)}</td><td>{_bar(b_buckets.get(v, 0) / nb)}</td>"
                f"<td>{_bar(w_buckets.get(v, 0) / nw)}</td></tr>"
                for v in sorted(set(b_buckets) | set(w_buckets))
            )
            summary = f"{len(w_buckets)} values"
        rows.append(
            f"<h3>{html.escape(name)}</h3><p>{html.escape(summary)}</p>"
            f"<table><tr><th></th><th>baseline</th><th>window</th></tr>{cells}</table>"
        )
    return "\n".join(rows)


def html_report(
    baseline: dict[str, Any],
    window: dict[str, Any],
    violations: list[dict[str, str]],
    title: str,
) -> str:
    """A self-contained page (no scripts, no external assets): violations first, then each signal."""
    items = "".join(
        f"<li><b>{html.escape(v['feature_name'])}</b> ({html.escape(v['constraint_check_type'])}): "
        f"{html.escape(v['description'])}</li>"
        for v in violations
    )
    drift = "".join(
        f"<tr><td>{html.escape(d['feature'])}</td><td>{d['statistic']:.3f}</td><td>{d['threshold']:.3f}</td>"
        f"<td>{'DRIFT' if d['drifted'] else 'ok'}</td></tr>"
        for d in window.get("drift", [])
    )
    status = f"{len(violations)} violation(s)" if violations else "no violations"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} .bar{{display:inline-block;height:10px;background:#c33}}
table{{border-collapse:collapse}} td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{window["dataset"]["item_count"]} records ({window["dataset"].get("unreadable_records", 0)} unreadable);
baseline {baseline["dataset"]["item_count"]} records. <b>{status}</b></p>
<ul>{items}</ul>
<h2>Drift checks</h2>
<table><tr><th>signal</th><th>statistic</th><th>threshold</th><th></th></tr>{drift}</table>
<h2>Signals</h2>
{_feature_rows(baseline, window)}
</body></html>
"""
