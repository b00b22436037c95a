"""Approval -> deploy on SageMaker (moto): the Lambda handler with real-shaped events."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from conf.schema import Config
from model_registry import lambda_handler
from model_registry.deploy_logic import NothingToRollBackTo, handle
from model_registry.sagemaker_backend import SageMakerRegistry
from model_registry.settings import handler_settings
from tests.model_registry.conftest import BUCKET, register_package, sagemaker_event

pytestmark = pytest.mark.aws

CHATBOT = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-dev-chatbot"


@pytest.fixture
def invoke(aws: boto3.session.Session, dev_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call the Lambda entry point as the Lambda runtime would, with the settings it is deployed with."""
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    return lambda event: lambda_handler.handler(event, None)


def approve(session: boto3.session.Session, arn: str, status: str = "Approved") -> dict[str, Any]:
    session.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return sagemaker_event(session, arn)


def served_package(session: boto3.session.Session, endpoint: str) -> str:
    sm = session.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    )
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"]["ModelPackageName"]


def resource_counts(session: boto3.session.Session) -> tuple[int, int, int]:
    sm = session.client("sagemaker")
    return (
        len(sm.list_models()["Models"]),
        len(sm.list_endpoint_configs()["EndpointConfigs"]),
        len(sm.list_endpoints()["Endpoints"]),
    )


def test_approval_creates_the_endpoint_serving_that_package(aws, invoke, update_calls) -> None:
    arn = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    decision = invoke(approve(aws, arn))

    assert decision["action"] == "deploy" and decision["version"] == 1
    assert served_package(aws, ENDPOINT) == arn
    sm = aws.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True and capture["InitialSamplingPercentage"] == 100
    assert capture["DestinationS3Uri"] == f"s3://{BUCKET}/stranger-things-nlp/dev/data-capture/chatbot"
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.xlarge"
    assert update_calls == []  # a new endpoint is created, not updated


def test_duplicate_event_changes_nothing(aws, invoke, update_calls) -> None:
    arn = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    event = approve(aws, arn)
    invoke(event)
    before = resource_counts(aws)
    config_before = aws.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]

    decision = invoke(event)

    assert decision["action"] == "noop"
    assert decision["reason"] == f"{ENDPOINT} already serves version 1"
    assert resource_counts(aws) == before == (1, 1, 1)
    assert (
        aws.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
        == config_before
    )
    assert update_calls == []


def test_other_groups_are_ignored(aws, invoke, update_calls) -> None:
    arn = register_package(aws, "someone-elses-model", {"bleu": 50.0, "chrf": 60.0})
    decision = invoke(approve(aws, arn))
    assert decision["action"] == "ignore"
    assert resource_counts(aws) == (0, 0, 0)


def test_newer_approval_updates_blue_green_and_rejection_rolls_back(
    aws, invoke, update_calls, dev_cfg
) -> None:
    first = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    second = register_package(aws, CHATBOT, {"bleu": 11.0, "chrf": 33.0})
    invoke(approve(aws, first))

    assert invoke(approve(aws, second))["action"] == "deploy"
    assert served_package(aws, ENDPOINT) == second
    [update] = update_calls
    assert update["DeploymentConfig"] == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "WaitIntervalInSeconds": 120,
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            "TerminationWaitInSeconds": 120,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": f"{ENDPOINT}-5xx-errors"}, {"AlarmName": f"{ENDPOINT}-model-latency"}]
        },
    }

    decision = invoke(approve(aws, second, status="Rejected"))

    assert decision["action"] == "rollback" and decision["version"] == 1
    assert served_package(aws, ENDPOINT) == first
    # Rolling back reuses v1's model and endpoint config: nothing new is built.
    assert resource_counts(aws) == (2, 2, 1)


def test_stale_approval_after_rejection_does_not_deploy(aws, invoke, update_calls) -> None:
    arn = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    approved_event = approve(aws, arn)
    approve(aws, arn, status="Rejected")
    decision = invoke(approved_event)  # delivered late, after the rejection
    assert decision["action"] == "noop" and "stale event" in decision["reason"]
    assert resource_counts(aws) == (0, 0, 0)


def test_rejecting_the_only_live_version_fails_loudly(aws, invoke, update_calls) -> None:
    arn = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    invoke(approve(aws, arn))
    with pytest.raises(NothingToRollBackTo, match="no other version is approved"):
        invoke(approve(aws, arn, status="Rejected"))
    assert served_package(aws, ENDPOINT) == arn


def test_sagemaker_registry_lists_metrics_and_keeps_the_note(aws) -> None:
    register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    register_package(aws, CHATBOT, {"bleu": 11.0, "chrf": 33.0})
    registry = SageMakerRegistry(aws.client("sagemaker"), aws.client("s3"))

    assert registry.list_groups() == [CHATBOT]
    versions = registry.list_versions(CHATBOT)
    assert [(v.version, v.metrics) for v in versions] == [
        (1, {"bleu": 9.5, "chrf": 31.0}),
        (2, {"bleu": 11.0, "chrf": 33.0}),
    ]
    assert registry.latest_approved(CHATBOT) is None
    approved = registry.set_status(CHATBOT, 2, "Approved", note="better BLEU on S4")
    assert (approved.status, approved.status_note) == ("Approved", "better BLEU on S4")
    latest = registry.latest_approved(CHATBOT)
    assert latest is not None and latest.version == 2
    assert [v.version for v in registry.list_versions(CHATBOT, status="Approved")] == [2]
    with pytest.raises(KeyError, match="no model package group 'missing'"):
        registry.list_versions("missing")
    with pytest.raises(KeyError, match=f"no version 9 in model package group '{CHATBOT}'"):
        registry.get(CHATBOT, 9)


def test_endpoint_built_by_the_pipeline_counts_as_serving_its_package(
    aws, invoke, update_calls, dev_cfg
) -> None:
    """The pipeline's deploy step creates the model from image + artifact, not from the package."""
    arn = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    sm = aws.client("sagemaker")
    container = sm.describe_model_package(ModelPackageName=arn)["InferenceSpecification"]["Containers"][0]
    sm.create_model(
        ModelName="from-pipeline",
        ExecutionRoleArn=dev_cfg.project.role_arn,
        PrimaryContainer={"Image": container["Image"], "ModelDataUrl": container["ModelDataUrl"]},
    )
    sm.create_endpoint_config(
        EndpointConfigName="from-pipeline",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "from-pipeline",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName="from-pipeline")

    decision = invoke(approve(aws, arn))

    assert decision["action"] == "noop" and decision["reason"] == f"{ENDPOINT} already serves version 1"
    assert resource_counts(aws) == (1, 1, 1) and update_calls == []


def test_a_busy_endpoint_is_waited_for_then_updated(aws, dev_cfg, update_calls) -> None:
    from moto.sagemaker.models import sagemaker_backends

    from model_registry.sagemaker_deploy import EndpointBusy, SageMakerDeployer

    first = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    second = register_package(aws, CHATBOT, {"bleu": 11.0, "chrf": 33.0})
    settings = handler_settings(dev_cfg)
    registry = SageMakerRegistry(aws.client("sagemaker"))
    sm = aws.client("sagemaker")
    handle(approve(aws, first), settings, registry, SageMakerDeployer(sm, settings, registry))
    live = sagemaker_backends["123456789012"]["us-east-1"].endpoints[ENDPOINT]
    live.endpoint_status = "Updating"

    impatient = SageMakerDeployer(sm, settings, registry, busy_wait_s=0)
    with pytest.raises(EndpointBusy, match=f"{ENDPOINT} is Updating after 0 s"):
        handle(approve(aws, second), settings, registry, impatient)

    waits: list[float] = []

    def settle(seconds: float) -> None:  # the update in progress finishes while the handler waits
        waits.append(seconds)
        live.endpoint_status = "InService"

    patient = SageMakerDeployer(sm, settings, registry, busy_wait_s=60, sleep=settle)
    assert handle(approve(aws, second), settings, registry, patient).action == "deploy"
    assert waits == [20.0] and served_package(aws, ENDPOINT) == second
