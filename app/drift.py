"""Drift figures for the Operations tab: the latest monitoring window of each endpoint, as notes.

Local: `make monitor-local` writes `<home>/monitoring/<endpoint>/latest/` (pipelines/local/monitoring.py):
constraint_violations.json in Model Monitor's form ({"violations": [{"feature_name",
"constraint_check_type", "description"}]}) and report.html. AWS: the scheduled monitoring job publishes
`constraint_violations` per Endpoint and MonitoringSchedule into conf `monitoring.metric_namespace`
(containers/monitoring/outputs.py; the dashboard and the violations alarm read the same metric); the
tab shows the most violations of one window in the last 24 hours.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_registry.variant_metrics import WINDOW, metric_values

VIOLATIONS_FILE = "constraint_violations.json"  # containers/monitoring/monitor.py writes it
VIOLATIONS_METRIC = "constraint_violations"  # containers/monitoring/outputs.py publishes it


def local_drift_notes(home: Path, endpoints: list[str]) -> list[str]:
    """One note per endpoint: its latest monitor-local result, or how to get one."""
    notes = []
    for endpoint in endpoints:
        latest = home / "monitoring" / endpoint / "latest"
        found = latest / VIOLATIONS_FILE
        if not found.is_file():
            notes.append(
                f"{endpoint}: no drift check yet (`make monitor-local` after traffic through serve-local)."
            )
            continue
        try:
            violations = json.loads(found.read_text(encoding="utf-8"))["violations"]
            names = sorted({str(v["feature_name"]) for v in violations})
        except (ValueError, KeyError, TypeError) as error:
            notes.append(f"{endpoint}: unreadable {found} ({error}): run `make monitor-local` again.")
            continue
        when = datetime.fromtimestamp(found.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
        said = f"{len(violations)} violation(s): {', '.join(names)}" if violations else "no violations"
        notes.append(f"{endpoint}: drift check of {when}: {said}; report: {latest / 'report.html'}")
    return notes


def aws_drift_notes(
    cloudwatch: Any,
    namespace: str,
    schedules: dict[str, str],
    now: datetime | None = None,
) -> list[str]:
    """One note per endpoint ({endpoint: its monitoring schedule}): the most violations in one window over
    the last 24 hours, or that no window reported."""
    end = now or datetime.now(UTC)
    names = list(schedules)
    queries = [
        {
            "Id": f"d{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": namespace,
                    "MetricName": VIOLATIONS_METRIC,
                    "Dimensions": [
                        {"Name": "Endpoint", "Value": endpoint},
                        {"Name": "MonitoringSchedule", "Value": schedules[endpoint]},
                    ],
                },
                "Period": int(WINDOW.total_seconds()),
                "Stat": "Maximum",
            },
        }
        for i, endpoint in enumerate(names)
    ]
    values = metric_values(cloudwatch, queries, end)
    notes = []
    for i, endpoint in enumerate(names):
        found = values.get(f"d{i}", [])
        if not found:
            notes.append(f"{endpoint}: no drift monitoring window reported in the last 24 hours.")
        else:
            most = int(max(found))
            notes.append(f"{endpoint}: last 24 hours of drift checks: at most {most} violation(s) a window.")
    return notes
