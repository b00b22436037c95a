"""The SageMaker requests that put a model package behind an endpoint, built as plain dicts.

Pure functions (no clients): the deployer sends them, the tests read them. Resource names are
deterministic (endpoint, version and a hash of the settings), so a retried or duplicated event finds
the model and endpoint config it made before instead of making new ones; changed settings give new
names, so an old config is never reused with stale settings. Stdlib only (Lambda bundle).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from model_registry import serverless
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, RolloutPolicy
from model_registry.naming import LIVE_VARIANT, alarm_names, variant_alarm_names
from model_registry.types import ModelVersion

VARIANT_NAME = LIVE_VARIANT  # why one name across deploys: model_registry/naming.py
MAX_NAME = 63
TRAFFIC_TYPES = {"canary": "CANARY", "linear": "LINEAR", "all_at_once": "ALL_AT_ONCE"}
ROLLOUT_FIELDS = ("strategy", "step_percent")


def resource_name(target: EndpointTarget, version: ModelVersion, settings: HandlerSettings) -> str:
    """`<endpoint>-v<version>-<hash8>`: the name of both the model and the endpoint config."""
    fingerprint = json.dumps(
        {
            "package": version.arn,
            # What is served, not how traffic shifts to it: a new rollout setting reuses the config.
            # (`serverless` only when set: the names of instance-based endpoints stay as they were.)
            "target": {
                k: v
                for k, v in asdict(target).items()
                if k not in ROLLOUT_FIELDS and not (k == "serverless" and v is None)
            },
            "role": settings.execution_role_arn,
            "capture": settings.data_capture_s3_uri,
            "kms": settings.kms_key_id,
        },
        sort_keys=True,
    )
    if settings.network_isolation or settings.vpc_config:  # only then: existing names stay as they were
        fingerprint += json.dumps([settings.network_isolation, settings.vpc_config], sort_keys=True)
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:8]
    suffix = f"-v{version.version}-{digest}"
    return target.endpoint_name[: MAX_NAME - len(suffix)].rstrip("-") + suffix


def tag_list(settings: HandlerSettings, version: ModelVersion) -> list[dict[str, str]]:
    tags = {
        **settings.tags,
        "model-package-group": version.group,
        "model-package-version": str(version.version),
    }
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def model_request(name: str, version: ModelVersion, settings: HandlerSettings) -> dict[str, Any]:
    """CreateModel from the registered package: image, artifact and environment come from the package."""
    if not settings.execution_role_arn:
        raise ValueError("execution_role_arn is empty: the model needs the SageMaker execution role")
    request: dict[str, Any] = {
        "ModelName": name,
        "ExecutionRoleArn": settings.execution_role_arn,
        "PrimaryContainer": {"ModelPackageName": version.arn},
        "Tags": tag_list(settings, version),
    }
    if settings.network_isolation:
        request["EnableNetworkIsolation"] = True
    if settings.vpc_config:
        request["VpcConfig"] = settings.vpc_config
    return request


def data_capture_uri(settings: HandlerSettings, target: EndpointTarget) -> str:
    """`<data capture root>/<model>`: the folder the pipeline's own endpoint config captures into."""
    return f"{settings.data_capture_s3_uri.rstrip('/')}/{target.model or target.endpoint_name}"


def endpoint_config_request(
    name: str, target: EndpointTarget, version: ModelVersion, settings: HandlerSettings
) -> dict[str, Any]:
    """CreateEndpointConfig: one variant, request and response capture to S3 (a serverless variant:
    model_registry/serverless.py, which captures nothing)."""
    if target.serverless is not None:
        spec = serverless.ServerlessSpec.of(target.serverless)
        return serverless.endpoint_config_request(name, VARIANT_NAME, spec, tag_list(settings, version))
    if not settings.data_capture_s3_uri.startswith("s3://"):
        raise ValueError(f"data_capture_s3_uri {settings.data_capture_s3_uri!r} must be an s3:// URI")
    capture: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": target.data_capture_percentage,
        "DestinationS3Uri": data_capture_uri(settings, target),
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
    }
    request: dict[str, Any] = {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": VARIANT_NAME,
                "ModelName": name,
                "InstanceType": target.instance_type,
                "InitialInstanceCount": target.initial_instance_count,
            }
        ],
        "DataCaptureConfig": capture,
        "Tags": tag_list(settings, version),
    }
    if settings.kms_key_id:
        request["KmsKeyId"] = settings.kms_key_id
        capture["KmsKeyId"] = settings.kms_key_id
    return request


def deployment_config(rollout: RolloutPolicy, endpoint_name: str) -> dict[str, Any]:
    """UpdateEndpoint's blue/green policy: shift traffic in steps, roll back when an alarm fires."""
    routing: dict[str, Any] = {
        "Type": TRAFFIC_TYPES[rollout.strategy],
        "WaitIntervalInSeconds": rollout.wait_interval_s,
    }
    step = {"Type": "CAPACITY_PERCENT", "Value": rollout.step_percent}
    if rollout.strategy == "canary":
        routing["CanarySize"] = step
    elif rollout.strategy == "linear":
        routing["LinearStepSize"] = step
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": rollout.termination_wait_s,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": name} for name in alarm_names(endpoint_name).values()]
        },
    }


def alarm_requests(
    endpoint_name: str, rollout: RolloutPolicy, variant: str = VARIANT_NAME
) -> list[dict[str, Any]]:
    """PutMetricAlarm requests for one variant's alarms (5XX count, average model latency): the live
    variant's are the rollback alarms (the operations stack makes them); a challenger's the handler."""
    names = variant_alarm_names(endpoint_name, variant)
    who = endpoint_name if variant == VARIANT_NAME else f"{endpoint_name} variant {variant}"
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint_name},
        {"Name": "VariantName", "Value": variant},
    ]
    common = {
        "Namespace": "AWS/SageMaker",
        "Dimensions": dimensions,
        "Period": 60,
        # No traffic is not a failure: a quiet endpoint must not roll back.
        "TreatMissingData": "notBreaching",
    }
    return [
        {
            **common,
            "AlarmName": names["5xx"],
            "AlarmDescription": f"{who}: 5XX errors; rolls back a blue/green update",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Sum",
            "EvaluationPeriods": 1,
            "Threshold": float(rollout.alarm_5xx_count),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
        {
            **common,
            "AlarmName": names["latency"],
            "AlarmDescription": f"{who}: model latency; rolls back a blue/green update",
            "MetricName": "ModelLatency",
            "Statistic": "Average",
            "EvaluationPeriods": 2,
            # ModelLatency is reported in microseconds.
            "Threshold": float(rollout.alarm_latency_ms * 1000),
            "ComparisonOperator": "GreaterThanThreshold",
        },
    ]
