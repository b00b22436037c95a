"""The A/B flow on SageMaker: the deploy handler's challenger requests under moto, and shadow with Stubber.

What moto 5.2.5 has and lacks (read in moto/sagemaker/models.py and responses.py):
- CreateEndpointConfig with two ProductionVariants: stored, InitialVariantWeight kept (a weight of 0.0 is
  dropped: moto copies it only when truthy); DescribeEndpoint reports CurrentWeight from it.
- UpdateEndpointWeightsAndCapacities: implemented (refuses a variant the endpoint lacks or a name twice).
- UpdateEndpoint: not implemented; tests/model_registry/conftest.py `update_calls` stands in (the
  endpoint switches to the new config, as a completed blue/green update leaves it). So moto proves the
  calls and their order, not SageMaker's traffic shifting or rollback.
- ShadowProductionVariants: silently dropped by CreateEndpointConfig (responses.py never reads it), so a
  shadow cannot be replayed under moto: `test_shadow_flow_with_stubbed_answers` uses botocore's Stubber,
  whose answers and our requests are both checked against botocore's shapes.
- CloudWatch PutMetricAlarm / DescribeAlarms / DeleteAlarms: implemented.
"""

from __future__ import annotations

import datetime
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import ANY, Stubber
from botocore.validate import ParamValidator

from conf.schema import Config
from model_registry import lambda_handler
from model_registry.endpoint_spec import resource_name
from model_registry.naming import LIVE_VARIANT
from model_registry.sagemaker_deploy import SageMakerDeployer
from model_registry.sagemaker_variants import SageMakerVariants
from model_registry.settings import handler_settings
from model_registry.types import ModelVersion
from model_registry.variants import challenger_config_name
from tests.model_registry.conftest import register_package, sagemaker_event

pytestmark = pytest.mark.aws

CHATBOT = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-dev-chatbot"


@pytest.fixture
def handler(aws: boto3.session.Session, dev_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    return lambda event: lambda_handler.handler(event, None)


def approve(session: boto3.session.Session, arn: str, status: str = "Approved") -> dict[str, Any]:
    session.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return sagemaker_event(session, arn)


def serving(session: boto3.session.Session) -> list[tuple[str, str, float | None]]:
    """(variant, package, current weight) of each production variant, as SageMaker describes them."""
    sm = session.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName=ENDPOINT)
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    weights = {v["VariantName"]: v.get("CurrentWeight") for v in endpoint["ProductionVariants"]}
    out = []
    for variant in config["ProductionVariants"]:
        model = sm.describe_model(ModelName=variant["ModelName"])
        out.append(
            (
                variant["VariantName"],
                model["PrimaryContainer"]["ModelPackageName"],
                weights[variant["VariantName"]],
            )
        )
    return out


def alarms(session: boto3.session.Session) -> list[str]:
    return sorted(a["AlarmName"] for a in session.client("cloudwatch").describe_alarms()["MetricAlarms"])


def valid(operation: str, request: dict[str, Any]) -> str:
    model = botocore.session.get_session().get_service_model("sagemaker")
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def test_add_split_promote_then_abort_under_moto(aws, handler, update_calls) -> None:
    v1 = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    handler(approve(aws, v1))
    v2 = register_package(aws, CHATBOT, {"bleu": 11.0, "chrf": 33.0})

    out = handler({"request": "challenger-add", "group": CHATBOT, "version": 2, "weight": 0.2})
    assert (out["action"], out["variant"], out["live_version"], out["weight"]) == (
        "challenger-added",
        "v2",
        "1",
        "0.2",
    )
    assert serving(aws) == [(LIVE_VARIANT, v1, 0.8), ("v2", v2, 0.2)]
    [update] = update_calls
    assert valid("UpdateEndpoint", update) == ""
    assert (
        update["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
        == "ALL_AT_ONCE"
    )
    assert [a["AlarmName"] for a in update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]] == [
        f"{ENDPOINT}-5xx-errors",
        f"{ENDPOINT}-model-latency",
        f"{ENDPOINT}-v2-5xx-errors",
        f"{ENDPOINT}-v2-model-latency",
    ]
    assert alarms(aws) == [f"{ENDPOINT}-v2-5xx-errors", f"{ENDPOINT}-v2-model-latency"]
    v2_alarm = aws.client("cloudwatch").describe_alarms(AlarmNames=[f"{ENDPOINT}-v2-5xx-errors"])[
        "MetricAlarms"
    ][0]
    assert {"Name": "VariantName", "Value": "v2"} in v2_alarm["Dimensions"]
    # The pipeline's reconcile and the status command see the live version, not the challenger.
    assert handler({"request": "reconcile", "group": CHATBOT})["action"] == "noop"
    status = handler({"request": "challenger-status", "group": CHATBOT})
    assert '"name": "v2"' in status["variants"]

    out = handler({"request": "challenger-weight", "group": CHATBOT, "weight": 0.5})
    assert serving(aws) == [(LIVE_VARIANT, v1, 0.5), ("v2", v2, 0.5)]
    assert len(update_calls) == 1  # the split moved in place

    # Promote = approve: the normal deploy, blue/green with the target's strategy, the challenger alone.
    decision = handler(approve(aws, v2))
    assert decision["action"] == "deploy" and decision["version"] == 2
    assert serving(aws) == [(LIVE_VARIANT, v2, None)]
    assert (
        update_calls[-1]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"]
        == "LINEAR"
    )
    # The promotion reuses the challenger's model: no second model of v2.
    models = [m["ModelName"] for m in aws.client("sagemaker").list_models()["Models"]]
    assert sorted(models) == sorted({m for m in models}) and len([m for m in models if "-v2-" in m]) == 1
    assert alarms(aws) == []

    # Abort: a third version tried and removed; the endpoint goes back to v2's own config.
    register_package(aws, CHATBOT, {"bleu": 10.0, "chrf": 30.0})
    handler({"request": "challenger-add", "group": CHATBOT, "version": 3, "weight": 0.1})
    assert [v for v, _, _ in serving(aws)] == [LIVE_VARIANT, "v3"]
    out = handler({"request": "challenger-abort", "group": CHATBOT})
    assert (out["action"], out["variant"], out["live_version"]) == ("challenger-removed", "v3", "2")
    assert serving(aws) == [(LIVE_VARIANT, v2, None)]
    assert alarms(aws) == []
    for call in update_calls:
        assert valid("UpdateEndpoint", call) == ""


def test_refusals_fail_the_invocation_with_the_reason(aws, handler, update_calls) -> None:
    v1 = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    handler(approve(aws, v1))
    with pytest.raises(ValueError, match="v1 is Approved: a challenger is a version under review"):
        handler({"request": "challenger-add", "group": CHATBOT, "version": 1})
    with pytest.raises(ValueError, match="has no challenger"):
        handler({"request": "challenger-weight", "group": CHATBOT, "weight": 0.3})
    assert update_calls == []


# ---- shadow: stubbed answers ---------------------------------------------------------------------

NOW = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)
ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def model_answer(name: str, package: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "ModelName": name,
        "ModelArn": f"{ACCOUNT_ARN}:model/{name}",
        "CreationTime": NOW,
    }
    if package:
        answer["PrimaryContainer"] = {"ModelPackageName": package}
    return answer


def test_shadow_flow_with_stubbed_answers(dev_cfg: Config) -> None:
    """moto drops ShadowProductionVariants: SageMaker's answers are stubbed (Stubber checks them against
    botocore's output shapes; our requests go through botocore's input validation as usual)."""
    settings = handler_settings(dev_cfg)
    target = settings.targets[CHATBOT]
    live = ModelVersion(CHATBOT, 1, f"{ACCOUNT_ARN}:model-package/{CHATBOT}/1", "Approved", "s3://b/1.tar.gz")
    shadow = ModelVersion(
        CHATBOT, 2, f"{ACCOUNT_ARN}:model-package/{CHATBOT}/2", "PendingManualApproval", "s3://b/2"
    )
    live_name, shadow_model = resource_name(target, live, settings), resource_name(target, shadow, settings)
    shadow_config = challenger_config_name(target, live, shadow, "shadow", 1.0, settings)
    keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sm, cw = boto3.client("sagemaker", **keys), boto3.client("cloudwatch", **keys)
    sent: dict[str, dict[str, Any]] = {}
    sm.meta.events.register(
        "provide-client-params.sagemaker.CreateEndpointConfig", lambda params, **_: sent.update(config=params)
    )
    endpoint = {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"{ACCOUNT_ARN}:endpoint/{ENDPOINT}",
        "EndpointConfigName": live_name,
        "EndpointStatus": "InService",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    variant = {
        "VariantName": LIVE_VARIANT,
        "ModelName": live_name,
        "InstanceType": "ml.m5.xlarge",
        "InitialInstanceCount": 4,
    }
    shadow_variant = {**variant, "VariantName": "v2", "ModelName": shadow_model}
    config = {
        "EndpointConfigName": live_name,
        "EndpointConfigArn": f"{ACCOUNT_ARN}:endpoint-config/{live_name}",
        "ProductionVariants": [variant],
        "CreationTime": NOW,
    }
    with Stubber(sm) as stub, Stubber(cw) as cw_stub:
        stub.add_response("describe_endpoint", endpoint, {"EndpointName": ENDPOINT})
        stub.add_response("describe_endpoint_config", config, {"EndpointConfigName": live_name})
        stub.add_response("describe_model", model_answer(live_name), {"ModelName": live_name})
        stub.add_response("describe_model", model_answer(shadow_model), {"ModelName": shadow_model})
        stub.add_client_error(
            "describe_endpoint_config",
            "ValidationException",
            "Could not find endpoint configuration",
            expected_params={"EndpointConfigName": shadow_config},
        )
        stub.add_response("create_endpoint_config", {"EndpointConfigArn": f"{ACCOUNT_ARN}:endpoint-config/s"})
        for _ in range(2):  # the shadow's 5XX and latency alarms
            cw_stub.add_response("put_metric_alarm", {})
        stub.add_response(
            "update_endpoint",
            {"EndpointArn": endpoint["EndpointArn"]},
            {"EndpointName": ENDPOINT, "EndpointConfigName": shadow_config, "DeploymentConfig": ANY},
        )
        SageMakerVariants(SageMakerDeployer(sm, settings), cloudwatch=cw).add_challenger(
            target, live, shadow, "shadow", 1.0
        )
        stub.assert_no_pending_responses()
        cw_stub.assert_no_pending_responses()
    request = sent["config"]
    assert request["ProductionVariants"] == [{**variant, "InitialVariantWeight": 1.0}]
    assert request["ShadowProductionVariants"] == [{**shadow_variant, "InitialVariantWeight": 1.0}]

    # Reading a shadow back: DescribeEndpointConfig names it under ShadowProductionVariants.
    with Stubber(sm) as stub:
        stub.add_response(
            "describe_endpoint", {**endpoint, "EndpointConfigName": shadow_config}, {"EndpointName": ENDPOINT}
        )
        stub.add_response(
            "describe_endpoint_config",
            {**config, "EndpointConfigName": shadow_config, "ShadowProductionVariants": [shadow_variant]},
            {"EndpointConfigName": shadow_config},
        )
        stub.add_response("describe_model", model_answer(live_name, live.arn), {"ModelName": live_name})
        stub.add_response(
            "describe_model", model_answer(shadow_model, shadow.arn), {"ModelName": shadow_model}
        )
        found = SageMakerVariants(SageMakerDeployer(sm, settings)).variants(ENDPOINT)
    assert [(v.name, v.model_package_arn, v.shadow) for v in found] == [
        (LIVE_VARIANT, live.arn, False),
        ("v2", shadow.arn, True),
    ]


def test_a_changing_endpoint_is_refused_until_it_settles(aws, handler, update_calls) -> None:
    """Mid-update DescribeEndpoint still names the old config: the answer says retry, not "no challenger"."""
    v1 = register_package(aws, CHATBOT, {"bleu": 9.5, "chrf": 31.0})
    handler(approve(aws, v1))
    register_package(aws, CHATBOT, {"bleu": 11.0, "chrf": 33.0})
    handler({"request": "challenger-add", "group": CHATBOT, "version": 2, "weight": 0.2})
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends["123456789012"]["us-east-1"].endpoints[ENDPOINT].endpoint_status = "Updating"
    with pytest.raises(RuntimeError, match="is Updating; ask again once it is InService"):
        handler({"request": "challenger-weight", "group": CHATBOT, "weight": 0.5})


def test_the_cli_sends_challenger_requests_to_the_deploy_handler(dev_cfg: Config) -> None:
    """On AWS the registry CLI invokes the handler Lambda (RequestResponse) and reads its answer or error."""
    import io
    import json as jsonlib

    from botocore.response import StreamingBody

    from model_registry.variant_cli import HandlerRequestFailed, invoke_handler

    keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    client = boto3.client("lambda", **keys)

    class Session:
        def client(self, name: str) -> Any:
            assert name == "lambda"
            return client

    def body(data: dict[str, Any]) -> StreamingBody:
        raw = jsonlib.dumps(data).encode()
        return StreamingBody(io.BytesIO(raw), len(raw))

    event = {"request": "challenger-weight", "group": CHATBOT, "weight": 0.5}
    expected = {
        "FunctionName": "stranger-things-nlp-dev-deploy-handler",
        "Payload": jsonlib.dumps(event).encode(),
    }
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": body({"action": "weight-set"})}, expected)
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": body({"errorMessage": "x has no challenger"}),
            },
            expected,
        )
        assert invoke_handler(Session(), dev_cfg, event) == {"action": "weight-set"}
        with pytest.raises(
            HandlerRequestFailed, match="stranger-things-nlp-dev-deploy-handler: x has no challenger"
        ):
            invoke_handler(Session(), dev_cfg, event)
