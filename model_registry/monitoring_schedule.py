"""The drift monitoring's own schedule: EventBridge Scheduler starts the monitoring job, no Model Monitor.

SageMaker Model Monitor is no longer open to new customers (AWS docs, "Amazon SageMaker Model Monitor
availability change", July 2026), so a MonitoringSchedule is not an option for a new account. Instead
one EventBridge Scheduler schedule per endpoint (`monitoring.cron`, e.g. a quarter past each hour)
invokes the deploy handler (a templated Lambda target: the function's ARN, "Using templated targets"
in the Scheduler guide; its role may call lambda:InvokeFunction on that function only) with a
`drift-run` request that carries the monitoring job of containers/monitoring/monitor.py. The handler
(model_registry/drift_run.py) lists the window's capture, writes a manifest of it and calls
sagemaker:CreateProcessingJob, so the job copies the window's hours only, not the endpoint's whole
capture prefix, which grows with every hour the endpoint serves:
- the job's name and window come from the Scheduler's context attributes, which it substitutes in the
  target's Input: `<aws.scheduler.execution-id>` (a unique job name, and the manifest's key) and
  `<aws.scheduler.scheduled-time>` (the window's end; `--window-hours` before it is the start);
- inputs: the code bundle (monitor.py's content-addressed bundle), the window's capture files of the
  live variant (a ManifestFile input: `<capture>/<endpoint>/AllTraffic/` is the manifest's prefix) and
  the baseline of the version the endpoint serves (its DriftCheckBaselines folder: the deploy handler
  sets it, below);
- the job publishes its figures with cloudwatch:PutMetricData (`--publish-metrics true`) and writes
  statistics.json, constraint_violations.json and report.html under the monitoring prefix;
- it runs with the pipeline jobs' key (volumes, outputs) and VPC from conf `security`, but never with
  network isolation: the job calls cloudwatch:PutMetricData itself (an isolated container reaches no
  AWS API), and it runs the project's own code on capture files, loading no model, which is what
  isolation guards against. In a VPC, PutMetricData needs a `monitoring` interface endpoint or NAT.

Who creates the schedule: the deploy handler (model_registry/sagemaker_deploy.py), after each deploy
or rollback it starts, from the served version's DescribeModelPackage (`sync_schedule`):
- the baseline is the version's DriftCheckBaselines.ModelDataQuality folder (statistics.json and
  constraints.json side by side, with vocabulary.json: steps/baseline.py);
- the code bundle and the image are what the pipeline knew when it built the definition and registered
  the version: its CustomerMetadataProperties `monitoring_code_uri` and `monitoring_image_uri`
  (steps/register.py). The handler cannot derive them: the code key changes with every upsert.
- a version without those (registered by hand, or before the baseline step existed) deletes the
  endpoint's schedule, with a warning that says why: a window compared with another version's baseline
  would raise violations that describe a model no longer served, and alarm on them;
- a serverless endpoint captures nothing (model_registry/serverless.py), so it gets no schedule.

The manifests (one small JSON per firing, under `<prefix>/<env>/monitoring/manifests/`) and the capture
itself still accumulate in the bucket; what grows no more is what each job copies.

Stdlib and botocore only (the scheduler client is passed in): this module travels in the deploy
handler's bundle; `model_registry.settings.monitoring_settings` builds its settings from the typed config.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from model_registry.drift_run import CAPTURE_INPUT, DRIFT_RUN
from model_registry.naming import endpoint_name, monitoring_schedule_name

LOG = logging.getLogger(__name__)

EXECUTION_ID = "<aws.scheduler.execution-id>"
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
CODE_PATH = "/opt/ml/processing/input/code"  # the code bundle, mounted as the pipeline's jobs mount it
CAPTURE_PATH = "/opt/ml/processing/input/endpoint"
BASELINE_PATH = "/opt/ml/processing/input/baseline"
OUTPUT_PATH = "/opt/ml/processing/resultdata"
# The model package's CustomerMetadataProperties that say how to monitor the version (steps/register.py).
CODE_URI_KEY = "monitoring_code_uri"
IMAGE_URI_KEY = "monitoring_image_uri"
SCHEDULE_GROUP = "default"


@dataclass(frozen=True)
class MonitoringSettings:
    """What the drift schedules of one environment share (conf `monitoring`, `processing`, `security`,
    `project`); travels to the deploy handler inside HandlerSettings."""

    project_name: str
    env: str
    bucket: str
    prefix: str
    region: str
    job_role_arn: str
    scheduler_role_arn: str
    handler_function_arn: str  # the schedules' target: the deploy handler starts each window's job
    cron: str = "cron(15 * * * ? *)"
    window_hours: int = 1
    alpha: float = 0.001
    min_window: int = 20
    instance_type: str = "ml.m5.xlarge"
    volume_size_gb: int = 30
    tags: dict[str, str] = field(default_factory=dict)
    kms_key_id: str | None = None
    subnets: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MonitoringSettings:
        return cls(
            **{
                **data,
                "subnets": tuple(data.get("subnets", ())),
                "security_group_ids": tuple(data.get("security_group_ids", ())),
            }
        )


def job_name_prefix(env: str, model: str) -> str:
    """Short enough that prefix + a 36-character execution id fit ProcessingJobName's 63 characters."""
    prefix = f"{env}-{model}-drift-"
    if len(prefix) + 36 > 63:
        raise ValueError(f"monitoring job name prefix {prefix!r} is too long for a 63-character job name")
    return prefix


def manifest_uri(cfg: MonitoringSettings, model: str) -> str:
    """Where a firing's manifest goes: one object per firing, named by the Scheduler's execution id."""
    endpoint = endpoint_name(cfg.project_name, model, cfg.env)
    return f"s3://{cfg.bucket}/{manifest_prefix(cfg)}/{endpoint}/{EXECUTION_ID}.json"


def manifest_prefix(cfg: MonitoringSettings) -> str:
    """The key prefix of every drift manifest of the environment (the handler may write only there)."""
    return f"{cfg.prefix.strip('/')}/{cfg.env}/monitoring/manifests"


def processing_job_request(
    cfg: MonitoringSettings,
    model: str,
    image_uri: str,
    role_arn: str,
    code_uri: str,
    baseline_uri: str,
) -> dict[str, Any]:
    """The CreateProcessingJob request one scheduled run sends (context attributes still unsubstituted).

    The capture arrives through the firing's manifest (model_registry/drift_run.py writes it)."""
    endpoint = endpoint_name(cfg.project_name, model, cfg.env)
    schedule = monitoring_schedule_name(cfg.project_name, cfg.env, model)
    output_uri = f"s3://{cfg.bucket}/{cfg.prefix}/{cfg.env}/monitoring/{endpoint}"
    request: dict[str, Any] = {
        "ProcessingJobName": job_name_prefix(cfg.env, model) + EXECUTION_ID,
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
                str(cfg.window_hours),
                "--endpoint-name",
                endpoint,
                "--schedule-name",
                schedule,
                "--alpha",
                str(cfg.alpha),
                "--min-window",
                str(cfg.min_window),
                "--publish-metrics",
                "true",
            ],
        },
        "ProcessingInputs": [
            _input(CAPTURE_INPUT, manifest_uri(cfg, model), CAPTURE_PATH, "ManifestFile"),
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
                "InstanceType": cfg.instance_type,
                "VolumeSizeInGB": cfg.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Environment": {"AWS_DEFAULT_REGION": cfg.region},
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(cfg.tags.items())],
    }
    _secure(cfg, request)
    return request


def _secure(cfg: MonitoringSettings, request: dict[str, Any]) -> None:
    """The pipeline jobs' KMS key and VPC (steps/context.py); no network isolation (module docstring)."""
    if cfg.kms_key_id:
        request["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] = cfg.kms_key_id
        request["ProcessingOutputConfig"]["KmsKeyId"] = cfg.kms_key_id
    network: dict[str, Any] = {"EnableNetworkIsolation": False}  # it publishes its own metrics
    if cfg.subnets:
        network["VpcConfig"] = {
            "SecurityGroupIds": list(cfg.security_group_ids),
            "Subnets": list(cfg.subnets),
        }
    request["NetworkConfig"] = network


def _input(name: str, uri: str, path: str, data_type: str = "S3Prefix") -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": path,
            "S3DataType": data_type,
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def schedule_request(
    cfg: MonitoringSettings,
    model: str,
    image_uri: str,
    job_role_arn: str,
    scheduler_role_arn: str,
    code_uri: str,
    capture_uri: str,
    baseline_uri: str,
) -> dict[str, Any]:
    """The Scheduler CreateSchedule request of `model`'s endpoint: invoke the deploy handler with a
    drift-run request (model_registry/drift_run.py) for the window ending when it fires. Its role may
    only invoke the handler; the handler starts the job."""
    job = processing_job_request(cfg, model, image_uri, job_role_arn, code_uri, baseline_uri)
    run = {
        "request": DRIFT_RUN,
        "model": model,
        "capture_uri": capture_uri,
        "window_end": SCHEDULED_TIME,
        "window_hours": cfg.window_hours,
        "job": job,
    }
    return {
        "Name": monitoring_schedule_name(cfg.project_name, cfg.env, model),
        "GroupName": SCHEDULE_GROUP,
        "ScheduleExpression": cfg.cron,
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": cfg.handler_function_arn,
            "RoleArn": scheduler_role_arn,
            "Input": json.dumps(run, sort_keys=True),
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        },
    }


# ---- the deploy handler's part: point the endpoint's schedule at the version it serves -------------


class NotMonitorable(ValueError):
    """A model package lacks what its drift schedule needs (baseline, code bundle or image)."""


@dataclass(frozen=True)
class VersionMonitoring:
    """How to monitor one version, read from its DescribeModelPackage."""

    baseline_uri: str  # the folder of statistics.json and constraints.json, with a trailing slash
    code_uri: str
    image_uri: str


def _folder(uri: str) -> str:
    return uri.rsplit("/", 1)[0] + "/"


def version_monitoring(package: dict[str, Any]) -> VersionMonitoring:
    """The baseline folder (DriftCheckBaselines.ModelDataQuality), code bundle and image (its
    CustomerMetadataProperties) of a DescribeModelPackage answer; NotMonitorable says what is missing."""
    name = package.get("ModelPackageArn", "the model package")
    quality = (package.get("DriftCheckBaselines") or {}).get("ModelDataQuality") or {}
    statistics = (quality.get("Statistics") or {}).get("S3Uri")
    constraints = (quality.get("Constraints") or {}).get("S3Uri")
    if not statistics or not constraints:
        raise NotMonitorable(
            f"{name} has no DriftCheckBaselines.ModelDataQuality statistics and constraints: register it "
            "with the pipeline's ComputeXBaseline output to monitor it"
        )
    if _folder(statistics) != _folder(constraints):
        raise NotMonitorable(
            f"{name}: the baseline's statistics ({statistics}) and constraints ({constraints}) are in two "
            "folders; the monitoring job reads one folder"
        )
    metadata = package.get("CustomerMetadataProperties") or {}
    missing = [key for key in (CODE_URI_KEY, IMAGE_URI_KEY) if not metadata.get(key)]
    if missing:
        raise NotMonitorable(
            f"{name} lacks CustomerMetadataProperties {', '.join(missing)} (the monitoring job's code and "
            "image, which steps/register.py records): register it again with the pipeline"
        )
    return VersionMonitoring(_folder(statistics), metadata[CODE_URI_KEY], metadata[IMAGE_URI_KEY])


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ResourceNotFoundException"


def _same(stored: dict[str, Any], request: dict[str, Any]) -> bool:
    keys = ("ScheduleExpression", "ScheduleExpressionTimezone", "State", "FlexibleTimeWindow")
    if any(stored.get(k) != request[k] for k in keys):
        return False
    target, wanted = stored.get("Target") or {}, request["Target"]
    return all(target.get(k) == wanted[k] for k in ("Arn", "RoleArn", "Input", "RetryPolicy"))


def sync_schedule(
    scheduler: Any, cfg: MonitoringSettings, model: str, capture_uri: str, package: dict[str, Any]
) -> str:
    """Create or update `model`'s drift schedule so it monitors the version `package` describes
    (DescribeModelPackage's answer) over the capture under `capture_uri`; returns what it did:
    'created', 'updated', 'unchanged', 'deleted' or 'absent' (nothing to delete).

    A version without a baseline, code or image deletes the schedule (module docstring: why)."""
    name = monitoring_schedule_name(cfg.project_name, cfg.env, model)
    try:
        stored: dict[str, Any] | None = scheduler.get_schedule(Name=name, GroupName=SCHEDULE_GROUP)
    except ClientError as error:  # only "not found" means "no schedule yet"
        if not _is_missing(error):
            raise
        stored = None
    try:
        how = version_monitoring(package)
    except NotMonitorable as error:
        LOG.warning("%s: no drift monitoring for this version: %s", name, error)
        if stored is None:
            return "absent"
        scheduler.delete_schedule(Name=name, GroupName=SCHEDULE_GROUP)
        LOG.warning(
            "deleted drift schedule %s: it would compare traffic with another version's baseline", name
        )
        return "deleted"
    request = schedule_request(
        cfg,
        model,
        how.image_uri,
        cfg.job_role_arn,
        cfg.scheduler_role_arn,
        how.code_uri,
        capture_uri,
        how.baseline_uri,
    )
    if stored is None:
        scheduler.create_schedule(**request)
        LOG.info("created drift schedule %s with baseline %s", name, how.baseline_uri)
        return "created"
    if _same(stored, request):
        return "unchanged"
    scheduler.update_schedule(**request)
    LOG.info("updated drift schedule %s to baseline %s", name, how.baseline_uri)
    return "updated"
