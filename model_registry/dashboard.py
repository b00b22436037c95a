"""The CloudWatch dashboard of an environment and the alarm on drift violations, generated from config.

    body = dashboard_body(load_config("dev"))          # a dict: json.dumps it into DashboardBody
    alarms = violation_alarm_requests(cfg, topic_arn)  # cloudwatch:PutMetricAlarm requests

The operations stack (infra/templates/operations.yaml) embeds the body (`AWS::CloudWatch::Dashboard`
DashboardBody) and the alarms next to the rollback alarms of endpoint_spec.alarm_requests.

What it charts, and where the figures come from:
- pipeline executions: `AWS/Sagemaker/ModelBuildingPipeline` ExecutionStarted / Succeeded / Failed by
  PipelineName (SageMaker's pipeline metrics, "Amazon SageMaker metrics in Amazon CloudWatch");
- training loss: the training jobs' MetricDefinitions (steps/train.py), which SageMaker publishes under
  `/aws/sagemaker/TrainingJobs` with a `Host` dimension of `<job name>/algo-<n>`. Job names change
  with each execution, so the widget is a SEARCH on the metric name and the training step's name (the
  pipeline names its jobs after the step: `pipelines-<execution>-<StepName>-...`, as seen in the
  console, not a documented contract: if it changes, the widget shows both models' losses together);
- endpoint invocations, latency (ModelLatency, OverheadLatency: microseconds), 4XX/5XX: `AWS/SageMaker`
  by EndpointName and VariantName ("SageMaker endpoint invocation metrics");
- monitoring: the drift job's own metrics (containers/monitoring/outputs.py) under
  `monitoring.metric_namespace`, by Endpoint and MonitoringSchedule.
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config
from model_registry.endpoint_spec import VARIANT_NAME
from model_registry.naming import (
    MODELS,
    alarm_names,
    endpoint_name,
    monitoring_schedule_name,
    pipeline_name,
    violations_alarm_name,
)

PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
PIPELINE_METRICS = ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
TRAINING_NAMESPACE = "/aws/sagemaker/TrainingJobs"
TRAINING_CHARTS = ("train_loss", "eval_loss")  # MetricDefinitions both models have
ENDPOINT_NAMESPACE = "AWS/SageMaker"
ENDPOINT_METRICS = {
    "invocations": ("Invocations",),
    "latency": ("ModelLatency", "OverheadLatency"),
    "errors": ("Invocation4XXErrors", "Invocation5XXErrors"),
}
# The drift job's metric names (containers/monitoring/outputs.py; the dashboard test checks they agree).
VIOLATIONS_METRIC = "constraint_violations"
RECORDS_METRIC = "records"
DRIFT_PREFIX = "feature_baseline_drift_"
TRAINING_STEPS = {"chatbot": "TrainChatbot", "classifier": "TrainLocationClassifier"}
WIDTH, HEIGHT = 12, 6


def _widget(
    index: int, title: str, metrics: list[Any], region: str, stat: str, period: int
) -> dict[str, Any]:
    """A time-series widget in a two-column grid."""
    return {
        "type": "metric",
        "x": (index % 2) * WIDTH,
        "y": (index // 2) * HEIGHT,
        "width": WIDTH,
        "height": HEIGHT,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "region": region,
            "stat": stat,
            "period": period,
            "metrics": metrics,
        },
    }


def _endpoint_metrics(endpoints: list[str], chart: str) -> list[list[str]]:
    return [
        [ENDPOINT_NAMESPACE, name, "EndpointName", endpoint, "VariantName", VARIANT_NAME]
        for endpoint in endpoints
        for name in ENDPOINT_METRICS[chart]
    ]


def _search(
    namespace: str, dimensions: str, terms: str, stat: str, period: int, label: str, ref: str
) -> dict:
    query = f"SEARCH('{{{namespace},{dimensions}}} {terms}', '{stat}', {period})"
    return {"expression": query, "id": ref, "label": label}


def dashboard_body(cfg: Config) -> dict[str, Any]:
    """The dashboard of `cfg.env`: pipeline, training, endpoints and drift monitoring, one widget each."""
    project, env, region = cfg.project.name, cfg.env, cfg.project.region
    endpoints = [endpoint_name(project, model, env) for model in MODELS]
    namespace = cfg.monitoring.metric_namespace
    training = [
        [
            _search(
                TRAINING_NAMESPACE,
                "Host",
                f'MetricName="{metric}" "{TRAINING_STEPS[model]}"',
                "Average",
                60,
                f"{model} {metric}",
                f"t{i}{j}",
            )
        ]
        for i, model in enumerate(MODELS)
        for j, metric in enumerate(TRAINING_CHARTS)
    ]
    violations = [
        [namespace, VIOLATIONS_METRIC, "Endpoint", endpoint, "MonitoringSchedule", schedule]
        for endpoint, schedule in zip(
            endpoints, [monitoring_schedule_name(project, env, m) for m in MODELS], strict=True
        )
    ]
    drift = [
        [
            _search(
                namespace,
                "Endpoint,MonitoringSchedule",
                f'"{DRIFT_PREFIX}" "{e}"',
                "Maximum",
                3600,
                e,
                f"d{i}",
            )
        ]
        for i, e in enumerate(endpoints)
    ]
    widgets = [
        _widget(
            0,
            f"Pipeline executions ({pipeline_name(project, env)})",
            [[PIPELINE_NAMESPACE, m, "PipelineName", pipeline_name(project, env)] for m in PIPELINE_METRICS],
            region,
            "Sum",
            3600,
        ),
        _widget(1, "Training loss (last jobs)", training, region, "Average", 60),
        _widget(2, "Endpoint invocations", _endpoint_metrics(endpoints, "invocations"), region, "Sum", 300),
        _widget(3, "Endpoint latency (us)", _endpoint_metrics(endpoints, "latency"), region, "Average", 300),
        _widget(4, "Endpoint 4XX / 5XX errors", _endpoint_metrics(endpoints, "errors"), region, "Sum", 300),
        _widget(5, "Drift monitoring: constraint violations per window", violations, region, "Maximum", 3600),
        _widget(6, "Drift monitoring: PSI per signal", drift, region, "Maximum", 3600),
    ]  # fmt: skip
    widgets.append(
        {
            "type": "alarm",
            "x": (len(widgets) % 2) * WIDTH,
            "y": (len(widgets) // 2) * HEIGHT,
            "width": WIDTH,
            "height": HEIGHT,
            "properties": {"title": "Alarms", "alarms": alarm_arns(cfg)},
        }
    )
    return {"widgets": widgets}


def alarm_arns(cfg: Config) -> list[str]:
    """The rollback alarms (5XX, latency) and the drift-violation alarm of each endpoint."""
    prefix = f"arn:aws:cloudwatch:{cfg.project.region}:{cfg.project.account_id}:alarm:"
    arns = []
    for model in MODELS:
        endpoint = endpoint_name(cfg.project.name, model, cfg.env)
        names = alarm_names(endpoint)
        arns += [prefix + names["5xx"], prefix + names["latency"], prefix + violations_alarm_name(endpoint)]
    return arns


def violation_alarm_requests(cfg: Config, topic_arn: str) -> list[dict[str, Any]]:
    """PutMetricAlarm requests: any constraint violation in a monitoring window notifies `topic_arn`.

    Missing data (no monitoring run in the hour, e.g. an endpoint without traffic) is not a violation:
    the job itself failing is the pipeline's alarm to raise, not this one.
    """
    requests = []
    for model in MODELS:
        endpoint = endpoint_name(cfg.project.name, model, cfg.env)
        schedule = monitoring_schedule_name(cfg.project.name, cfg.env, model)
        requests.append(
            {
                "AlarmName": violations_alarm_name(endpoint),
                "AlarmDescription": f"{endpoint}: the drift monitoring found constraint violations "
                f"(see the window's report.html and constraint_violations.json)",
                "Namespace": cfg.monitoring.metric_namespace,
                "MetricName": VIOLATIONS_METRIC,
                "Dimensions": [
                    {"Name": "Endpoint", "Value": endpoint},
                    {"Name": "MonitoringSchedule", "Value": schedule},
                ],
                "Statistic": "Maximum",
                "Period": 3600 * cfg.monitoring.window_hours,
                "EvaluationPeriods": 1,
                "Threshold": 0.0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [topic_arn],
                "OKActions": [topic_arn],
            }
        )
    return requests
