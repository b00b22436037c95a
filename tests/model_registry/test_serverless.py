"""Serverless classifier endpoint: the requests, the rules that refuse what AWS refuses, the canary.

Under moto (which validates a ServerlessConfig's memory size and answers InvokeEndpoint from a queue of
canned answers): the approval of a classifier version creates a serverless endpoint, a later one switches
it without a DeploymentConfig, and a version whose canary request fails is rolled back to the config
served before. moto does not implement UpdateEndpoint: tests/model_registry/conftest.py teaches it, so
what is proven is the handler's requests and decisions, not SageMaker's update itself.
"""

from __future__ import annotations

import copy
import io
import json
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from conf.schema import Config
from model_registry import lambda_handler, serverless
from model_registry.endpoint_spec import endpoint_config_request, model_request, resource_name
from model_registry.serverless import CanaryFailed, NotConvertible
from model_registry.settings import handler_settings
from model_registry.types import ModelVersion
from tests.model_registry.conftest import ACCOUNT, REGION, moto_answers, register_package, sagemaker_event

CLASSIFIER = "stranger-things-location-classifier"
ENDPOINT = "stranger-things-nlp-dev-classifier"
GOOD = json.dumps({"predictions": [{"label": "Hawkins Lab", "score": 0.9}]})
VERSION = ModelVersion(
    CLASSIFIER,
    3,
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{CLASSIFIER}/3",
    "Approved",
    "s3://b/m",
)


def requests(cfg: Config, **settings_changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = replace(handler_settings(cfg), **settings_changes)
    target = settings.targets[CLASSIFIER]
    name = resource_name(target, VERSION, settings)
    return endpoint_config_request(name, target, VERSION, settings), model_request(name, VERSION, settings)


def shape(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)


# ---- the request ------------------------------------------------------------------------------------
def test_dev_serves_the_classifier_serverless_with_nothing_serverless_refuses(dev_cfg: Config) -> None:
    # Even with a project KMS key: it encrypts instance volumes, which a serverless variant lacks.
    config, model = requests(dev_cfg, kms_key_id="alias/stranger-things-nlp")
    [variant] = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant and "InitialInstanceCount" not in variant
    assert "DataCaptureConfig" not in config and "KmsKeyId" not in config
    validate_parameters(config, shape("CreateEndpointConfigInput"))  # botocore accepts the shape
    assert serverless.endpoint_config_problems(config, model) == []


def test_provisioned_concurrency_is_sent_when_configured(dev_cfg: Config) -> None:
    from conf import load_config

    cfg = load_config(
        "dev",
        overrides={
            "classifier": {"serving": {"serverless": {"max_concurrency": 8, "provisioned_concurrency": 2}}}
        },
    )
    config, _ = requests(cfg)
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {
        "MemorySizeInMB": 2048,
        "MaxConcurrency": 8,
        "ProvisionedConcurrency": 2,
    }


def test_the_chatbot_stays_on_instances_with_capture(dev_cfg: Config) -> None:
    settings = handler_settings(dev_cfg)
    target = settings.targets["stranger-things-chatbot"]
    config = endpoint_config_request("c", target, VERSION, settings)
    assert "InstanceType" in config["ProductionVariants"][0] and config["DataCaptureConfig"]["EnableCapture"]


def test_instance_endpoints_keep_their_names(dev_cfg: Config) -> None:
    """Adding the serverless field renamed nothing on instances (a new name is a new endpoint config)."""
    import hashlib
    from dataclasses import asdict

    settings = handler_settings(dev_cfg)
    chatbot = settings.targets["stranger-things-chatbot"]
    before = {k: v for k, v in asdict(chatbot).items() if k not in ("strategy", "step_percent", "serverless")}
    fingerprint = json.dumps(
        {
            "package": VERSION.arn,
            "target": before,
            "role": settings.execution_role_arn,
            "capture": settings.data_capture_s3_uri,
            "kms": settings.kms_key_id,
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:8]
    assert resource_name(chatbot, VERSION, settings) == f"{chatbot.endpoint_name}-v3-{digest}"
    # Serverless or not is part of what is served: the names differ.
    on_instances = replace(settings.targets[CLASSIFIER], serverless=None)
    assert resource_name(on_instances, VERSION, settings) != resource_name(
        settings.targets[CLASSIFIER], VERSION, settings
    )


# ---- the rules: each fires on a request that breaks it ----------------------------------------------
def _break(change: str, config: dict[str, Any], model: dict[str, Any]) -> None:
    variant = config["ProductionVariants"][0]
    if change == "memory":
        variant["ServerlessConfig"]["MemorySizeInMB"] = 1536
    elif change == "max-zero":
        variant["ServerlessConfig"]["MaxConcurrency"] = 0
    elif change == "max-high":
        variant["ServerlessConfig"]["MaxConcurrency"] = 201
    elif change == "provisioned":
        variant["ServerlessConfig"]["ProvisionedConcurrency"] = 6
    elif change == "instances":
        variant["InstanceType"] = "ml.g5.xlarge"
    elif change == "variants":
        config["ProductionVariants"].append({**copy.deepcopy(variant), "VariantName": "Challenger"})
    elif change == "shadow":
        config["ShadowProductionVariants"] = [copy.deepcopy(variant)]
    elif change == "capture":
        config["DataCaptureConfig"] = {"EnableCapture": True, "InitialSamplingPercentage": 100}
    elif change == "kms":
        config["KmsKeyId"] = "alias/stranger-things-nlp"
    elif change == "vpc":
        model["VpcConfig"] = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    elif change == "isolation":
        model["EnableNetworkIsolation"] = True
    elif change == "pipeline":
        model["Containers"] = [{"Image": "a"}, {"Image": "b"}]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ("memory", "MemorySizeInMB 1536"),
        ("max-zero", "MaxConcurrency 0"),
        ("max-high", "MaxConcurrency 201"),
        ("provisioned", "ProvisionedConcurrency 6 exceeds MaxConcurrency 5"),
        ("instances", "InstanceType is for instances"),
        ("variants", "2 production variants"),
        ("shadow", "shadow variants"),
        ("capture", "DataCaptureConfig"),
        ("kms", "KmsKeyId"),
        ("vpc", "VpcConfig"),
        ("isolation", "EnableNetworkIsolation"),
        ("pipeline", "inference pipeline"),
    ],
)
def test_each_serverless_rule_fires(dev_cfg: Config, change: str, says: str) -> None:
    config, model = requests(dev_cfg)
    _break(change, config, model)
    problems = serverless.endpoint_config_problems(config, model)
    assert [p for p, _ in problems if says in p], problems
    assert all(source.startswith("https://") for _, source in problems)


def test_an_instance_endpoint_config_is_not_judged_by_serverless_rules(dev_cfg: Config) -> None:
    settings = handler_settings(dev_cfg)
    config = endpoint_config_request("c", settings.targets["stranger-things-chatbot"], VERSION, settings)
    assert serverless.endpoint_config_problems(config) == []


# ---- the canary, on stand-in clients ----------------------------------------------------------------
class FakeSageMaker:
    def __init__(self, states: list[tuple[str, str]]) -> None:
        self.states = states  # (status, config) answered in turn; the last one repeats
        self.updates: list[str] = []

    def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
        status, config = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"EndpointStatus": status, "EndpointConfigName": config, "FailureReason": "image too big"}

    def update_endpoint(self, EndpointName: str, EndpointConfigName: str) -> None:
        self.updates.append(EndpointConfigName)


class FakeRuntime:
    def __init__(self, answer: bytes | Exception) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []

    def invoke_endpoint(self, **request: Any) -> dict[str, Any]:
        self.bodies.append(json.loads(request["Body"]))
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"Body": io.BytesIO(self.answer)}


def run_canary(
    sm: FakeSageMaker, runtime: FakeRuntime, previous: str | None = "v1", wait: float = 60.0
) -> str:
    return serverless.canary(sm, runtime, ENDPOINT, "classifier", "v2", previous, wait, sleep=lambda _: None)


def test_canary_passes_once_the_update_has_landed() -> None:
    sm, runtime = (
        FakeSageMaker([("Updating", "v1"), ("Updating", "v1"), ("InService", "v2")]),
        FakeRuntime(GOOD.encode()),
    )
    assert run_canary(sm, runtime) == "passed"
    assert runtime.bodies == [json.loads(serverless.CANARY_REQUESTS["classifier"][0])]
    assert sm.updates == []


@pytest.mark.parametrize(
    "answer",
    [
        ClientError({"Error": {"Code": "ModelError", "Message": "boom"}}, "InvokeEndpoint"),
        b"<html>oops</html>",
        b'{"error": "no model"}',
    ],
)
def test_a_failed_canary_rolls_back_to_the_previous_config(answer: bytes | Exception) -> None:
    sm = FakeSageMaker([("InService", "v2")])
    with pytest.raises(CanaryFailed, match="rolling back to v1"):
        run_canary(sm, FakeRuntime(answer))
    assert sm.updates == ["v1"]


def test_a_failed_canary_on_a_new_endpoint_has_nothing_to_roll_back_to() -> None:
    sm = FakeSageMaker([("InService", "v2")])
    with pytest.raises(CanaryFailed, match="no earlier config"):
        run_canary(sm, FakeRuntime(b"not json"), previous=None)
    assert sm.updates == []


def test_an_update_sagemaker_did_not_land_is_reported() -> None:
    sm = FakeSageMaker([("InService", "v1")])  # SageMaker rolled its own update back
    with pytest.raises(CanaryFailed, match="did not take v2: it is InService on v1"):
        run_canary(sm, FakeRuntime(GOOD.encode()))


def test_an_update_still_running_when_time_is_up_is_left_unchecked() -> None:
    runtime = FakeRuntime(GOOD.encode())
    assert run_canary(FakeSageMaker([("Updating", "v1")]), runtime, wait=30.0) == "unchecked"
    assert runtime.bodies == []


def test_an_instance_endpoint_is_not_converted_in_place() -> None:
    with pytest.raises(NotConvertible, match="delete the endpoint"):
        serverless.refuse_conversion(
            ENDPOINT, {"EndpointConfigName": "old", "ProductionVariants": [{"InstanceType": "ml.m5.xlarge"}]}
        )
    serverless.refuse_conversion(ENDPOINT, {"ProductionVariants": [{"ServerlessConfig": {}}]})  # no error


# ---- the whole handler under moto --------------------------------------------------------------------
@pytest.fixture
def invoke(aws: boto3.session.Session, dev_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.session.Session(region_name=REGION))
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    return lambda event: lambda_handler.handler(event, None)


def approve(session: boto3.session.Session, arn: str) -> dict[str, Any]:
    session.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return sagemaker_event(session, arn)


def serving(session: boto3.session.Session) -> dict[str, Any]:
    sm = session.client("sagemaker")
    name = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    return sm.describe_endpoint_config(EndpointConfigName=name)


@pytest.mark.aws
def test_approvals_deploy_serverless_and_a_failed_canary_rolls_back(aws, invoke, update_calls) -> None:
    moto_answers(GOOD)
    v1 = register_package(aws, CLASSIFIER, {"accuracy": 0.8})
    assert invoke(approve(aws, v1))["action"] == "deploy"
    first = serving(aws)
    assert first["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "DataCaptureConfig" not in first or not first["DataCaptureConfig"]
    assert update_calls == []

    v2 = register_package(aws, CLASSIFIER, {"accuracy": 0.85})
    assert invoke(approve(aws, v2))["action"] == "deploy"
    [update] = update_calls
    assert update["DeploymentConfig"] is None  # no guardrail steps: all at once, then the canary
    second = serving(aws)["EndpointConfigName"]
    assert second != first["EndpointConfigName"] and "-v2-" in second

    moto_answers("upstream timed out")  # version 3 answers garbage
    v3 = register_package(aws, CLASSIFIER, {"accuracy": 0.9})
    with pytest.raises(CanaryFailed, match=f"rolling back to {second}"):
        invoke(approve(aws, v3))
    assert [c["EndpointConfigName"].split("-v")[-1][0] for c in update_calls] == ["2", "3", "2"]
    assert serving(aws)["EndpointConfigName"] == second


@pytest.mark.aws
def test_an_instance_endpoint_is_not_switched_to_serverless(aws, invoke, update_calls) -> None:
    sm = aws.client("sagemaker")
    v1 = register_package(aws, CLASSIFIER, {"accuracy": 0.8}, status="Approved")
    sm.create_model(
        ModelName=f"{ENDPOINT}-v0-instances",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"ModelPackageName": v1},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-v0-instances",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{ENDPOINT}-v0-instances",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-v0-instances")
    v2 = register_package(aws, CLASSIFIER, {"accuracy": 0.85})
    with pytest.raises(NotConvertible, match="cannot make it serverless in place"):
        invoke(approve(aws, v2))
    assert update_calls == []


@pytest.mark.aws
def test_what_moto_checks_of_a_serverless_config(aws) -> None:
    """moto 5.2.5 validates MemorySizeInMB against AWS's six sizes (and nothing else of ServerlessConfig):
    the moto replays above prove the handler's requests pass that much; the rest is our own rules."""
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="m",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
        PrimaryContainer={"Image": "i", "ModelDataUrl": "s3://b/m.tar.gz"},
    )
    variant = {"VariantName": "AllTraffic", "ModelName": "m"}
    with pytest.raises(ClientError, match="MemorySizeInMB"):
        sm.create_endpoint_config(
            EndpointConfigName="bad",
            ProductionVariants=[
                {**variant, "ServerlessConfig": {"MemorySizeInMB": 1536, "MaxConcurrency": 5}}
            ],
        )
    # An over-limit concurrency passes moto (botocore refuses it client-side only below its minimum of 1).
    sm.create_endpoint_config(
        EndpointConfigName="lenient",
        ProductionVariants=[{**variant, "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 500}}],
    )
