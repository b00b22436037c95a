"""The drift monitoring's own schedule: EventBridge Scheduler starts the monitoring job, no Model Monitor.

SageMaker Model Monitor is no longer open to new customers (AWS docs, "Amazon SageMaker Model Monitor
availability change", July 2026), so a MonitoringSchedule is not an option for a new account. Instead
one EventBridge Scheduler schedule per endpoint (`monitoring.cron`, e.g. a quarter past each hour) calls
sagemaker:CreateProcessingJob through the Scheduler's universal target
(`arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob`, "Using universal targets" in the
Scheduler guide) with the monitoring job of containers/monitoring/monitor.py:
- the job's name and window come from the Scheduler's context attributes, which it substitutes in the
  target's Input: `<aws.scheduler.execution-id>` (a UUID: a unique job name) and
  `<aws.scheduler.scheduled-time>` (the window's end; `--window-hours` before it is the start);
- inputs: the code bundle (the pipeline's content-addressed sourcedir), the endpoint's capture prefix
  (the job reads only the window's hour folders) and the baseline
  of the version the endpoint serves (its DriftCheckBaselines folder, passed by whoever deploys it);
- the job publishes its figures with cloudwatch:PutMetricData (`--publish-metrics true`) and writes
  statistics.json, constraint_violations.json and report.html under the monitoring prefix;
- it runs with the pipeline jobs' key (volumes, outputs) and VPC from conf `security`, but never with
  network isolation: the job calls cloudwatch:PutMetricData itself (an isolated container reaches no
  AWS API), and it runs the project's own code on capture files, loading no model, which is what
  isolation guards against. In a VPC, PutMetricData needs a `monitoring` interface endpoint or NAT.

What this module does not do yet: create or update the schedule when a version is deployed (the deploy
handler knows the version and so its baseline), and copy only the window's hours (the processing input
is the endpoint's whole capture prefix, so the capture bucket needs a lifecycle rule to keep it small).
"""

from __future__ import annotations

import json
from typing import Any

from conf.schema import Config
from model_registry.naming import endpoint_name, monitoring_schedule_name

UNIVERSAL_TARGET = "arn:aws:scheduler:::aws-sdk:sagemaker:createProcessingJob"
EXECUTION_ID = "<aws.scheduler.execution-id>"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
CODE_PATH = "/opt/ml/processing/input/code"  # the code bundle, mounted as the pipeline's jobs mount it
CAPTURE_PATH = "/opt/ml/processing/input/endpoint"
BASELINE_PATH = "/opt/ml/processing/input/baseline"
OUTPUT_PATH = "/opt/ml/processing/resultdata"


def job_name_prefix(cfg: Config, model: str) -> str:
    """Short enough that prefix + a 36-character execution id fit ProcessingJobName's 63 characters."""
    prefix = f"{cfg.env}-{model}-drift-"
    if len(prefix) + 36 > 63:
        raise ValueError(f"monitoring job name prefix {prefix!r} is too long for a 63-character job name")
    return prefix


def processing_job_request(
    cfg: Config,
    model: str,
    image_uri: str,
    role_arn: str,
    code_uri: str,
    capture_uri: str,
    baseline_uri: str,
) -> dict[str, Any]:
    """The CreateProcessingJob request one scheduled run sends (context attributes still unsubstituted)."""
    project = cfg.project
    endpoint = endpoint_name(project.name, model, cfg.env)
    schedule = monitoring_schedule_name(project.name, cfg.env, model)
    output_uri = f"s3://{project.bucket}/{project.prefix}/{cfg.env}/monitoring/{endpoint}"
    request: dict[str, Any] = {
        "ProcessingJobName": job_name_prefix(cfg, model) + EXECUTION_ID,
        "RoleArn": role_arn,
        "AppSpecification": {
            "ImageUri": image_uri,
            "ContainerEntrypoint": [
                "python3",
                f"{CODE_PATH}/containers/monitoring/monitor.py",
            ],
            "ContainerArguments": [
                "--model",
                model,
                "--capture",
                CAPTURE_PATH,
                "--baseline-dir",
                BASELINE_PATH,
                "--output-dir",
                OUTPUT_PATH,
                "--end",
                SCHEDULED_TIME,
                "--window-hours",
                str(cfg.monitoring.window_hours),
                "--endpoint-name",
                endpoint,
                "--schedule-name",
                schedule,
                "--alpha",
                str(cfg.monitoring.alpha),
                "--min-window",
                str(cfg.monitoring.min_window),
                "--publish-metrics",
                "true",
            ],
        },
        "ProcessingInputs": [
            _input("endpoint", capture_uri, CAPTURE_PATH),
            _input("baseline", baseline_uri, BASELINE_PATH),
            _input("code", code_uri, CODE_PATH),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {"S3Uri": output_uri, "LocalPath": OUTPUT_PATH, "S3UploadMode": "EndOfJob"},
                }
            ]
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": cfg.processing.instance_type,
                "VolumeSizeInGB": cfg.processing.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Environment": {"AWS_DEFAULT_REGION": project.region},
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(project.tags.items())],
    }
    _secure(cfg, request)
    return request


def _secure(cfg: Config, request: dict[str, Any]) -> None:
    """The pipeline jobs' KMS key and VPC (steps/context.py); no network isolation (module docstring)."""
    security = cfg.security
    if security.kms_key_id:
        request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = security.kms_key_id
        request["ProcessingOutputConfig"]["KmsKeyId"] = security.kms_key_id
    network: dict[str, Any] = {"EnableNetworkIsolation": False}  # it publishes its own metrics
    if security.subnets:
        network["VpcConfig"] = {
            "SecurityGroupIds": list(security.security_group_ids),
            "Subnets": list(security.subnets),
        }
    request["NetworkConfig"] = network


def _input(name: str, uri: str, path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def schedule_request(
    cfg: Config,
    model: str,
    image_uri: str,
    job_role_arn: str,
    scheduler_role_arn: str,
    code_uri: str,
    capture_uri: str,
    baseline_uri: str,
) -> dict[str, Any]:
    """The Scheduler CreateSchedule request of `model`'s endpoint (its role: sagemaker:CreateProcessingJob
    on `<job prefix>*` and iam:PassRole of the job role)."""
    job = processing_job_request(cfg, model, image_uri, job_role_arn, code_uri, capture_uri, baseline_uri)
    return {
        "Name": monitoring_schedule_name(cfg.project.name, cfg.env, model),
        "ScheduleExpression": cfg.monitoring.cron,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": UNIVERSAL_TARGET,
            "RoleArn": scheduler_role_arn,
            "Input": json.dumps(job, sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        },
    }
