"""Fixtures for the registry tests: moto accounts, the project's config, a registered package.

moto 5.2.5 does not implement sagemaker:UpdateEndpoint. `moto_update_endpoint` teaches it: the
endpoint switches to the new config (as SageMaker's does once a blue/green update completes) and each
call's arguments are recorded, so the tests can check the DeploymentConfig the handler sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from conf import load_config
from conf.schema import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, also base.yaml's placeholder
BUCKET = "stranger-things-nlp-artifacts"
MONITOR_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/stranger-things-nlp-processing:0123456789ab"
IMAGE = f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-inference:2.6.0-cpu"


def _keep_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto 5.2.5's UpdateModelPackage replaces CustomerMetadataProperties with the request's (None when
    the request only approves); SageMaker merges them and removes only CustomerMetadataPropertiesToRemove
    (API reference, UpdateModelPackage). Approvals must keep the metadata the handler reads."""
    from moto.sagemaker.models import SageMakerModelBackend

    original = SageMakerModelBackend.update_model_package

    def update_model_package(self: Any, model_package_arn: str, **kwargs: Any) -> str:
        name = self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = self.model_packages.get(name)
        kept = dict((package.customer_metadata_properties or {}) if package else {})
        given = kwargs.get("customer_metadata_properties") or {}
        kwargs["customer_metadata_properties"] = {**kept, **given} or None
        return original(self, model_package_arn=model_package_arn, **kwargs)

    monkeypatch.setattr(SageMakerModelBackend, "update_model_package", update_model_package)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    from moto import mock_aws

    _keep_metadata(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


@pytest.fixture
def update_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Install the UpdateEndpoint stand-in; returns the list its calls are recorded in."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.responses import SageMakerResponse

    calls: list[dict[str, Any]] = []

    def update_endpoint(self: SageMakerResponse) -> ActionResult:
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        old = backend.endpoints[name]
        new = backend.create_endpoint(name, self._get_param("EndpointConfigName"), old.tags)
        new.creation_time = old.creation_time
        calls.append(
            {
                "EndpointName": name,
                "EndpointConfigName": self._get_param("EndpointConfigName"),
                "DeploymentConfig": self._get_param("DeploymentConfig"),
            }
        )
        return ActionResult({"EndpointArn": new.arn})

    monkeypatch.setattr(SageMakerResponse, "update_endpoint", update_endpoint, raising=False)
    return calls


@pytest.fixture(scope="session")
def dev_cfg() -> Config:
    # Serving on CPU instance types: moto's endpoint-config enum predates the GPU ones (shared notes).
    return load_config(
        "dev",
        overrides={
            # Linear steps of 25% need a fleet of four (AWS: 10-50% of the instances per step).
            "chatbot": {
                "serving": {
                    "instance_type": "ml.m5.xlarge",
                    "allowed_instance_types": ["ml.m5.xlarge"],
                    "initial_instance_count": 4,
                    "strategy": "linear",
                    "step_percent": 25,
                }
            },
            "deployment": {"wait_interval_s": 120},
        },
    )


def moto_answers(body: str, account: str = ACCOUNT) -> None:
    """What moto's InvokeEndpoint answers from now on in `account` (by default "body"; it also keeps
    answering a repeated request with its first answer, so earlier answers are forgotten here)."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    backend = sagemakerruntime_backends[account][REGION]
    backend.results.clear()
    backend.results_queue[:] = [(body, "application/json", "AllTraffic", "")]


def register_package(
    session: boto3.session.Session,
    group: str,
    metrics: dict[str, float],
    status: str = "PendingManualApproval",
    monitored: bool = False,
    bucket: str = BUCKET,
) -> str:
    """Register one model package the way the pipeline does: image, artifact, evaluation report; with
    `monitored`, also its drift baseline and the monitoring job's code and image (steps/register.py).
    Its objects go to `bucket`, which must exist."""
    sm, s3 = session.client("sagemaker"), session.client("s3")
    try:
        sm.describe_model_package_group(ModelPackageGroupName=group)
    except sm.exceptions.ClientError:
        sm.create_model_package_group(ModelPackageGroupName=group)
    count = len(sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"])
    key = f"stranger-things-nlp/dev/runs/exec-{group}-{count + 1}/Evaluate/evaluation/evaluation.json"
    report = {"chatbot_metrics": {name: {"value": value} for name, value in metrics.items()}, "metadata": {}}
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(report).encode())
    extra: dict[str, Any] = {}
    if monitored:
        baseline = f"s3://{bucket}/stranger-things-nlp/dev/runs/exec-{group}-{count + 1}/Baseline/baseline"
        extra = {
            "DriftCheckBaselines": {
                "ModelDataQuality": {
                    "Statistics": {"ContentType": "application/json", "S3Uri": f"{baseline}/statistics.json"},
                    "Constraints": {
                        "ContentType": "application/json",
                        "S3Uri": f"{baseline}/constraints.json",
                    },
                }
            },
            "CustomerMetadataProperties": {
                "monitoring_code_uri": f"s3://{bucket}/stranger-things-nlp/code/{count + 1:012d}/",
                "monitoring_image_uri": MONITOR_IMAGE,
            },
        }
    return sm.create_model_package(
        **extra,
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": IMAGE,
                    "ModelDataUrl": f"s3://{bucket}/stranger-things-nlp/dev/runs/{count + 1}/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{bucket}/{key}"}
            }
        },
    )["ModelPackageArn"]


def sagemaker_event(session: boto3.session.Session, arn: str) -> dict[str, Any]:
    """The EventBridge event SageMaker sends for a package's current state (its detail is the
    package's description, as in the real event)."""
    detail = session.client("sagemaker").describe_model_package(ModelPackageName=arn)
    detail.pop("ResponseMetadata")
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-01-05T10:00:00Z",
        "region": REGION,
        "resources": [arn],
        "detail": json.loads(json.dumps(detail, default=str)),
    }
