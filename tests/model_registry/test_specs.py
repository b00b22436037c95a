"""Request builders, IAM documents and the Lambda bundle: pure, checked against exact values."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conf import load_config
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, RolloutPolicy
from model_registry.endpoint_spec import (
    deployment_config,
    endpoint_config_request,
    model_request,
    resource_name,
)
from model_registry.iam_policies import deploy_handler_policy
from model_registry.lambda_bundle import BUNDLE_MODULES, build_zip
from model_registry.metrics import compare, metrics_from_report
from model_registry.settings import drift_schedule_access, handler_settings
from model_registry.types import ModelVersion

TARGET = EndpointTarget(
    "stranger-things-chatbot", "stranger-things-nlp-dev-chatbot", "ml.g5.xlarge", 2, 50, "chatbot"
)
SETTINGS = HandlerSettings(
    targets={TARGET.group: TARGET},
    execution_role_arn="arn:aws:iam::123456789012:role/Exec",
    data_capture_s3_uri="s3://bkt/p/dev/data-capture",
    kms_key_id="alias/stranger-things-nlp",
    tags={"project": "stranger-things-nlp"},
)
VERSION = ModelVersion(
    "stranger-things-chatbot",
    7,
    "arn:aws:sagemaker:us-east-1:123456789012:model-package/stranger-things-chatbot/7",
    "Approved",
    "s3://bkt/model.tar.gz",
)


def test_resource_names_are_stable_bounded_and_change_with_settings() -> None:
    name = resource_name(TARGET, VERSION, SETTINGS)
    assert name == resource_name(TARGET, VERSION, SETTINGS)
    assert (
        name.startswith("stranger-things-nlp-dev-chatbot-v7-") and len(name) == len(TARGET.endpoint_name) + 12
    )
    bigger = EndpointTarget(TARGET.group, TARGET.endpoint_name, "ml.g5.2xlarge", 2, 50)
    assert resource_name(bigger, VERSION, SETTINGS) != name
    long_target = EndpointTarget(TARGET.group, "e" * 63, "ml.m5.xlarge")
    assert len(resource_name(long_target, VERSION, SETTINGS)) == 63


def test_endpoint_config_captures_data_and_uses_the_key() -> None:
    request = endpoint_config_request("cfg-1", TARGET, VERSION, SETTINGS)
    assert request["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "cfg-1",
            "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 2,
        }
    ]
    assert request["DataCaptureConfig"] == {
        "EnableCapture": True,
        "InitialSamplingPercentage": 50,
        "DestinationS3Uri": "s3://bkt/p/dev/data-capture/chatbot",
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
        "KmsKeyId": "alias/stranger-things-nlp",
    }
    assert request["KmsKeyId"] == "alias/stranger-things-nlp"
    assert model_request("m-1", VERSION, SETTINGS)["PrimaryContainer"] == {"ModelPackageName": VERSION.arn}
    with pytest.raises(ValueError, match="must be an s3:// URI"):
        endpoint_config_request(
            "c", TARGET, VERSION, HandlerSettings(targets={}, data_capture_s3_uri="/tmp/x")
        )
    with pytest.raises(ValueError, match="execution_role_arn is empty"):
        model_request("m", VERSION, HandlerSettings(targets={}))


def test_deployment_config_per_strategy() -> None:
    canary = deployment_config(RolloutPolicy("canary", 10, 300, 600), "ep")
    assert canary["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        },
        "TerminationWaitInSeconds": 600,
    }
    assert canary["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": "ep-5xx-errors"}, {"AlarmName": "ep-model-latency"}]
    }
    at_once = deployment_config(RolloutPolicy("all_at_once", 10, 60, 60), "ep")
    assert at_once["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"] == {
        "Type": "ALL_AT_ONCE",
        "WaitIntervalInSeconds": 60,
    }


def test_handler_policy_lists_actions_and_scopes_resources() -> None:
    cfg = load_config("prod")
    settings = handler_settings(cfg)
    policy = deploy_handler_policy(
        "us-east-1",
        "123456789012",
        ["stranger-things-chatbot"],
        ["stranger-things-nlp-prod-chatbot"],
        cfg.project.role_arn,
        "fn",
        cfg.security.kms_key_id,
        **drift_schedule_access(cfg),
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    for statement in policy["Statement"]:
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if statement["Sid"] != "ListModelPackagesHasNoResourceLevelPermissions":
            assert "*" not in resources, statement["Sid"]
    assert by_sid["DeployProjectEndpoints"]["Resource"] == [
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint/stranger-things-nlp-prod-chatbot",
        "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/stranger-things-nlp-prod-chatbot-v*",
        "arn:aws:sagemaker:us-east-1:123456789012:model/stranger-things-nlp-prod-chatbot-v*",
    ]
    assert by_sid["PassExecutionRoleToSageMaker"] == {
        "Sid": "PassExecutionRoleToSageMaker",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::123456789012:role/StrangerThingsNlpSageMakerExecution",
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }
    assert by_sid["UseProjectKmsKey"]["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/stranger-things-nlp"}
    }
    assert settings.targets["stranger-things-location-classifier"].initial_instance_count == 2
    # Each endpoint rolls out as its fleet allows: one chatbot instance all at once, two classifiers canary.
    assert settings.targets["stranger-things-chatbot"].strategy == "all_at_once"
    assert settings.targets["stranger-things-location-classifier"].strategy == "canary"


def test_lambda_bundle_imports_without_config_or_sdk(tmp_path: Path) -> None:
    data = build_zip()
    assert build_zip() == data  # deterministic
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(f"model_registry/{m}" for m in BUNDLE_MODULES)
        archive.extractall(tmp_path)
    probe = (
        "import sys, model_registry.lambda_handler as h;"
        "heavy = {'conf', 'pydantic', 'yaml', 'sagemaker', 'torch'};"
        "bad = sorted({m.split('.')[0] for m in sys.modules} & heavy);"
        "print(h.__file__); print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    origin, bad = result.stdout.splitlines()
    assert origin.startswith(str(tmp_path)) and bad == "[]"


def test_metrics_from_report_and_compare() -> None:
    report = {
        "multiclass_classification_metrics": {
            "accuracy": {"value": 0.75},
            "macro_f1": {"value": 0.5},
            "confusion_matrix": {"0": {"0": 3}},
        },
        "metadata": {"n": 8},
    }
    assert metrics_from_report(report) == {"accuracy": 0.75, "macro_f1": 0.5}
    with pytest.raises(ValueError, match="holds no"):
        metrics_from_report({"metadata": {}})
    a = ModelVersion("g", 1, "a1", "Approved", "x", metrics={"accuracy": 0.5, "macro_f1": 0.25})
    b = ModelVersion("g", 2, "a2", "Approved", "x", metrics={"accuracy": 0.75, "weighted_f1": 0.7})
    rows = [(r.metric, r.a, r.b, r.delta) for r in compare(a, b)]
    assert rows == [
        ("accuracy", 0.5, 0.75, 0.25),
        ("macro_f1", 0.25, None, None),
        ("weighted_f1", None, 0.7, None),
    ]
    with pytest.raises(ValueError, match="compare versions of one group"):
        compare(a, ModelVersion("h", 1, "b1", "Approved", "x"))
