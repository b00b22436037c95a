"""The dashboard and the drift alarm: generated from config, charting only metrics the project emits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from conf import load_config
from containers.monitoring import outputs
from model_registry import dashboard
from model_registry.naming import MODELS
from steps import names
from steps.models import spec

TOPIC = "arn:aws:sns:us-east-1:123456789012:stranger-things-nlp-notifications"


def metric_rows(body: dict[str, Any]) -> list[list[Any]]:
    return [row for w in body["widgets"] if w["type"] == "metric" for row in w["properties"]["metrics"]]


def searches(body: dict[str, Any]) -> list[str]:
    return [row[0]["expression"] for row in metric_rows(body) if isinstance(row[0], dict)]


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The metric names a real run of the monitoring job writes (a drifted classifier window)."""
    from tests.containers.monitoring import traffic

    root = tmp_path_factory.mktemp("emitted")
    base = traffic.make_baseline(root / "baseline")
    texts = traffic.sample(traffic.SPANISH, 40, 1)
    traffic.run_window(root, base, texts, traffic.classifier_answers(40, 1))
    lines = (root / "metrics" / "metrics.jsonl").read_text().splitlines()
    return {json.loads(line)["MetricName"] for line in lines}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_dashboard_per_environment_with_the_six_subjects(env: str) -> None:
    cfg = load_config(env)
    body = dashboard.dashboard_body(cfg)
    titles = [w["properties"]["title"] for w in body["widgets"]]
    for subject in (
        "Pipeline executions",
        "Training loss",
        "invocations",
        "latency",
        "4XX / 5XX",
        "violations",
    ):
        assert any(subject in title for title in titles), subject
    text = json.dumps(body)
    assert f"stranger-things-nlp-{env}-chatbot" in text and f"stranger-things-nlp-{env}-classifier" in text
    assert f'"PipelineName", "stranger-things-nlp-{env}"' in text
    cells = [
        (w["x"] + dx, w["y"] + dy)
        for w in body["widgets"]
        for dx in range(w["width"])
        for dy in range(w["height"])
    ]
    assert len(cells) == len(set(cells))  # no widget covers another


def test_the_monitoring_metrics_charted_are_the_ones_the_job_emits(emitted: set[str]) -> None:
    cfg = load_config("dev")
    body = dashboard.dashboard_body(cfg)
    assert cfg.monitoring.metric_namespace == outputs.METRIC_NAMESPACE
    ours = {
        row[1] for row in metric_rows(body) if isinstance(row[0], str) and row[0] == outputs.METRIC_NAMESPACE
    }
    assert ours == {dashboard.VIOLATIONS_METRIC} and ours <= emitted
    assert dashboard.RECORDS_METRIC in emitted
    assert any(name.startswith(dashboard.DRIFT_PREFIX) for name in emitted)
    assert all(f'"{dashboard.DRIFT_PREFIX}"' in s for s in searches(body) if outputs.METRIC_NAMESPACE in s)


def test_the_training_charts_search_for_metric_definitions_of_the_training_steps() -> None:
    body = dashboard.dashboard_body(load_config("dev"))
    assert dashboard.TRAINING_STEPS == {"chatbot": names.TRAIN_CHATBOT, "classifier": names.TRAIN_CLASSIFIER}
    training = [s for s in searches(body) if dashboard.TRAINING_NAMESPACE in s]
    assert len(training) == len(MODELS) * len(dashboard.TRAINING_CHARTS)
    for model in MODELS:
        for metric in dashboard.TRAINING_CHARTS:
            assert metric in spec(model).training_metrics  # a MetricDefinition the training step carries
            assert any(
                f'MetricName="{metric}"' in s and dashboard.TRAINING_STEPS[model] in s for s in training
            )


def test_dashboard_and_alarms_go_through_the_cloudwatch_api(aws: boto3.session.Session) -> None:
    """moto checks the requests against botocore's shapes (PutDashboard, PutMetricAlarm) and keeps them."""
    cfg = load_config("dev")
    client = aws.client("cloudwatch")
    body = json.dumps(dashboard.dashboard_body(cfg))
    client.put_dashboard(DashboardName="stranger-things-nlp-dev", DashboardBody=body)
    assert json.loads(
        client.get_dashboard(DashboardName="stranger-things-nlp-dev")["DashboardBody"]
    ) == json.loads(body)
    for request in dashboard.violation_alarm_requests(cfg, TOPIC):
        client.put_metric_alarm(**request)
    alarms = client.describe_alarms(AlarmNamePrefix="stranger-things-nlp-dev")["MetricAlarms"]
    assert {a["AlarmName"] for a in alarms} == {
        "stranger-things-nlp-dev-chatbot-drift-violations",
        "stranger-things-nlp-dev-classifier-drift-violations",
    }
    for alarm in alarms:
        assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
            "constraint_violations",
            0.0,
            "GreaterThanThreshold",
        )
        assert alarm["AlarmActions"] == [TOPIC]


def test_the_alarm_fires_on_a_window_with_violations(aws: boto3.session.Session, tmp_path: Path) -> None:
    """The job's metric lines, published as the job publishes them, are what the alarm's metric reads."""
    from datetime import UTC, datetime

    cfg = load_config("dev")
    request = dashboard.violation_alarm_requests(cfg, TOPIC)[1]
    dims = {d["Name"]: d["Value"] for d in request["Dimensions"]}
    lines = [
        {
            "MetricName": outputs.VIOLATIONS_METRIC,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Dimensions": request["Dimensions"],
            "Value": 2.0,
            "Unit": "Count",
        }
    ]
    client = aws.client("cloudwatch")
    for call in outputs.put_metric_data_requests(lines, cfg.monitoring.metric_namespace):
        client.put_metric_data(**call)
    listed = client.list_metrics(Namespace=request["Namespace"], MetricName=request["MetricName"])["Metrics"]
    assert [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in listed] == [dims]
