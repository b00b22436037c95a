"""The Operations tab's drift notes: monitor-local's files locally, the job's CloudWatch metric on AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
from moto import mock_aws

from app.drift import aws_drift_notes, local_drift_notes
from containers.monitoring.monitor import VIOLATIONS_FILE
from containers.monitoring.outputs import METRIC_NAMESPACE, VIOLATIONS_METRIC

CHATBOT, CLASSIFIER = "st-local-chatbot", "st-local-classifier"


def write_violations(home: Path, endpoint: str, violations: list[dict[str, str]]) -> Path:
    latest = home / "monitoring" / endpoint / "latest"
    latest.mkdir(parents=True)
    (latest / VIOLATIONS_FILE).write_text(json.dumps({"violations": violations}), encoding="utf-8")
    return latest


def test_local_notes_name_the_violated_signals_and_the_report(tmp_path: Path) -> None:
    latest = write_violations(
        tmp_path,
        CHATBOT,
        [
            {"feature_name": "language", "constraint_check_type": "baseline_drift_check", "description": "x"},
            {"feature_name": "oov_rate", "constraint_check_type": "baseline_drift_check", "description": "y"},
        ],
    )
    write_violations(tmp_path, CLASSIFIER, [])
    chatbot, classifier = local_drift_notes(tmp_path, [CHATBOT, CLASSIFIER])
    assert chatbot.startswith(f"{CHATBOT}: drift check of ")
    assert chatbot.endswith(f"2 violation(s): language, oov_rate; report: {latest / 'report.html'}")
    assert classifier.startswith(f"{CLASSIFIER}: drift check of ") and "no violations" in classifier


def test_local_notes_say_how_to_get_a_check_or_mend_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / "monitoring" / CLASSIFIER / "latest").mkdir(parents=True)
    (tmp_path / "monitoring" / CLASSIFIER / "latest" / VIOLATIONS_FILE).write_text(
        "{not json", encoding="utf-8"
    )
    never, broken = local_drift_notes(tmp_path, [CHATBOT, CLASSIFIER])
    assert never == f"{CHATBOT}: no drift check yet (`make monitor-local` after traffic through serve-local)."
    assert broken.startswith(f"{CLASSIFIER}: unreadable ") and "run `make monitor-local` again" in broken


@mock_aws
def test_aws_notes_read_the_most_violations_the_job_published_in_a_day() -> None:
    """The job's own metric records (what containers/monitoring/outputs.py publishes), read back."""
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    now = datetime.now(UTC).replace(microsecond=0)
    dimensions = [
        {"Name": "Endpoint", "Value": CHATBOT},
        {"Name": "MonitoringSchedule", "Value": "chat-drift"},
    ]
    for hours_ago, violations in ((3, 1.0), (2, 4.0), (1, 0.0)):
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": VIOLATIONS_METRIC,
                    "Dimensions": dimensions,
                    "Timestamp": now - timedelta(hours=hours_ago),
                    "Value": violations,
                    "Unit": "Count",
                }
            ],
        )
    notes = aws_drift_notes(
        cloudwatch, METRIC_NAMESPACE, {CHATBOT: "chat-drift", CLASSIFIER: "class-drift"}, now=now
    )
    assert notes == [
        f"{CHATBOT}: last 24 hours of drift checks: at most 4 violation(s) a window.",
        f"{CLASSIFIER}: no drift monitoring window reported in the last 24 hours.",
    ]
    # the schedule is part of the metric's identity: another schedule's name reads nothing
    assert aws_drift_notes(cloudwatch, METRIC_NAMESPACE, {CHATBOT: "other-drift"}, now=now) == [
        f"{CHATBOT}: no drift monitoring window reported in the last 24 hours."
    ]
