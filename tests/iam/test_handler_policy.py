"""IAM sufficient and minimal, for the deploy handler and the retraining schedule (moto + offline evaluator).

Every AWS call the handler makes is recorded (tests/iam/recorder.py) in the scenarios of issue 11: the
pipeline's deploy step replayed (the Lambda step's own request from the dev definition), approval ->
deploy and reject -> rollback on that pipeline-built endpoint, the same on a handler-built endpoint, an
endpoint built by the pipeline before one deployer (its own Model/EndpointConfig/Endpoint steps), and
the FindXVersion lookup. Each access is evaluated against `deploy_handler_policy` as generated for dev:
one that no statement allows fails; a statement no access used is listed and must be a known one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from conf.schema import Config
from model_registry import lambda_handler
from model_registry.iam_policies import deploy_handler_policy, scheduler_policy
from model_registry.naming import handler_function_name
from model_registry.scheduling import pipeline_arn, schedule_request
from model_registry.serverless import CanaryFailed
from model_registry.settings import drift_schedule_access, handler_settings, project_groups
from pipelines.definition import definition_json
from tests.iam.policy_eval import Access, evaluate, resource_arns, unused_statements
from tests.iam.recorder import CallRecorder
from tests.model_registry.conftest import (
    ACCOUNT,
    BUCKET,
    IMAGE,
    REGION,
    moto_answers,
    register_package,
    sagemaker_event,
)

pytestmark = pytest.mark.aws

CHATBOT = "stranger-things-chatbot"
CLASSIFIER = "stranger-things-location-classifier"
ENDPOINT = "stranger-things-nlp-dev-chatbot"
# Statements the scenarios cannot exercise, and why (anything else unused fails the test).
KNOWN_UNUSED = {
    # UpdateEndpoint's AutoRollbackConfiguration names the alarms; SageMaker reads them itself, and
    # moto calls no CloudWatch: kept so a rollback alarm can be inspected by the handler's role.
    "ReadRollbackAlarms",
}
# Used only where a serverless endpoint is deployed (test_serverless_deploy_and_canary_are_allowed).
SERVERLESS_ONLY = {"CanaryInvokeProjectEndpoints"}
# Statements only the challenger requests use (exercised by test_challenger_flow_is_allowed).
CHALLENGER_ONLY = {"ShiftChallengerTraffic", "ManageChallengerAlarms"}
# Used only where a version with a drift baseline is deployed (a serverless endpoint gets no schedule).
MONITORED_ONLY = {"KeepDriftSchedules", "PassDriftSchedulerRole"}
# Used only by a drift schedule's firing (exercised in tests/iam/test_monitoring_policies.py).
DRIFT_RUN_ONLY = {"StartDriftMonitoringJobs", "ListDriftWindowCapture", "WriteDriftManifests"}


@pytest.fixture
def recorded(
    aws: boto3.session.Session, dev_cfg: Config, monkeypatch: pytest.MonkeyPatch, update_calls: Any
) -> Iterator[CallRecorder]:
    """The handler's default boto3 session, recorded; the test's own setup calls use `aws` (unrecorded)."""
    session = boto3.session.Session(region_name=REGION)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    yield CallRecorder(session, "handler", REGION, ACCOUNT)


def handler_policy(cfg: Config) -> dict[str, Any]:
    settings = handler_settings(cfg)
    return deploy_handler_policy(
        REGION,
        ACCOUNT,
        project_groups(cfg),
        [t.endpoint_name for t in settings.targets.values()],
        cfg.project.role_arn,
        handler_function_name(cfg.project.name, cfg.env),
        cfg.security.kms_key_id,
        **drift_schedule_access(cfg),
    )


def lambda_runtime_accesses(cfg: Config) -> list[Access]:
    """What the Lambda runtime does as the function's role: its log group, stream and events."""
    group = f"/aws/lambda/{handler_function_name(cfg.project.name, cfg.env)}"
    stream = "2026/01/05/[$LATEST]0123456789abcdef"
    out = [
        Access("handler", "logs:CreateLogGroup", a, source="runtime")
        for a in resource_arns("logs", "CreateLogGroup", {"LogGroupName": group}, REGION, ACCOUNT)
    ]
    for action in ("CreateLogStream", "PutLogEvents"):
        out += [
            Access("handler", f"logs:{action}", a, source="runtime")
            for a in resource_arns(
                "logs", action, {"LogGroupName": group, "LogStreamName": stream}, REGION, ACCOUNT
            )
        ]
    return out


def step_request(step_name: str, cfg: Config, resolved: dict[str, str] | None = None) -> dict[str, Any]:
    """A Lambda step's request as the pipeline sends it: its Arguments with expressions resolved."""
    definition = json.loads(definition_json(cfg))

    def flat(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for step in steps:
            yield step
            if step["Type"] == "Condition":
                yield from flat(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])

    step = next(s for s in flat(definition["Steps"]) if s["Name"] == step_name)
    assert step["Type"] == "Lambda"
    args = dict(step["Arguments"])
    for key, value in args.items():
        if isinstance(value, dict):  # a step property: the test says what it resolved to
            args[key] = (resolved or {})[key]
    return args


def approve(session: boto3.session.Session, arn: str, status: str = "Approved") -> dict[str, Any]:
    session.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return sagemaker_event(session, arn)


def served(session: boto3.session.Session) -> str:
    sm = session.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    )
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    return model["PrimaryContainer"].get("ModelPackageName") or model["PrimaryContainer"]["ModelDataUrl"]


def check(recorder: CallRecorder, cfg: Config) -> list[str]:
    policy = handler_policy(cfg)
    accesses = recorder.accesses + lambda_runtime_accesses(cfg)
    denied = [str(a) for a in accesses if not evaluate(policy, a).allowed]
    assert denied == [], "calls the handler's policy does not allow:\n" + "\n".join(denied)
    return unused_statements(policy, accesses)


def test_pipeline_deploy_step_then_approval_and_rejection_are_allowed(aws, recorded, dev_cfg) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, status="Approved", monitored=True)
    recorded.source = "DeployChatbot (replayed)"
    out = lambda_handler.handler(step_request("DeployChatbot", dev_cfg))
    assert out["action"] == "deploy" and out["model_package_arn"] == v1 and served(aws) == v1
    assert lambda_handler.handler(step_request("DeployChatbot", dev_cfg))["action"] == "noop"

    recorded.source = "approval"
    v2 = register_package(aws, CHATBOT, {"chrf": 33.0}, monitored=True)
    assert lambda_handler.handler(approve(aws, v2))["action"] == "deploy" and served(aws) == v2
    recorded.source = "rejection"
    assert lambda_handler.handler(approve(aws, v2, "Rejected"))["action"] == "rollback" and served(aws) == v1

    recorded.source = "FindChatbotVersion (replayed)"
    described = aws.client("sagemaker").describe_model_package(ModelPackageName=v2)
    resolved = {
        "model_data_url": described["InferenceSpecification"]["Containers"][0]["ModelDataUrl"],
        "evaluation_uri": described["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"],
    }
    found = lambda_handler.handler(step_request("FindChatbotVersion", dev_cfg, resolved))
    assert (found["found"], found["version"], found["status"]) == ("true", "2", "Rejected")

    drift = {call for call in recorded.calls if call[0] == "scheduler"}
    assert drift == {
        ("scheduler", "GetSchedule"),
        ("scheduler", "CreateSchedule"),
        ("scheduler", "UpdateSchedule"),
    }
    unused = check(recorded, dev_cfg)
    allowed = (
        KNOWN_UNUSED | SERVERLESS_ONLY | CHALLENGER_ONLY | DRIFT_RUN_ONLY | {"ReadPipelineBuiltEndpoints"}
    )
    assert set(unused) <= allowed, unused


def test_a_version_without_a_drift_baseline_deletes_the_schedule_and_that_is_allowed(
    aws, recorded, dev_cfg
) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, monitored=True)
    recorded.source = "approval (monitored)"
    lambda_handler.handler(approve(aws, v1))
    recorded.source = "approval (no baseline)"
    v2 = register_package(aws, CHATBOT, {"chrf": 33.0})
    assert lambda_handler.handler(approve(aws, v2))["action"] == "deploy"
    assert ("scheduler", "DeleteSchedule") in recorded.calls
    check(recorded, dev_cfg)
    policy = handler_policy(dev_cfg)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "PassDriftSchedulerRole"]
    denied = {(a.action, a.resource) for a in recorded.accesses if not evaluate(policy, a).allowed}
    # The statement is what lets the handler hand the schedule its role, and nothing else.
    assert denied == {("iam:PassRole", dev_cfg_drift_role(dev_cfg))}


def dev_cfg_drift_role(cfg: Config) -> str:
    return drift_schedule_access(cfg)["drift_scheduler_role_arn"]


def test_endpoint_built_by_the_old_pipeline_steps_is_read_and_replaced(aws, recorded, dev_cfg) -> None:
    """Item 3: an endpoint whose config is <endpoint>-<execution id> and model pipelines-<id>-...."""
    sm = aws.client("sagemaker")
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, status="Approved")
    url = sm.describe_model_package(ModelPackageName=v1)["InferenceSpecification"]["Containers"][0][
        "ModelDataUrl"
    ]
    sm.create_model(
        ModelName="pipelines-abc123def456-CreateChatbotModel-Xy12",
        ExecutionRoleArn=dev_cfg.project.role_arn,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": url},
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-abc123def456",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "pipelines-abc123def456-CreateChatbotModel-Xy12",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
    )
    sm.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-abc123def456")

    recorded.source = "approval on a pipeline-built endpoint"
    v2 = register_package(aws, CHATBOT, {"chrf": 33.0})
    assert lambda_handler.handler(approve(aws, v2))["action"] == "deploy" and served(aws) == v2

    unused = check(recorded, dev_cfg)
    assert "ReadPipelineBuiltEndpoints" not in unused
    assert (
        set(unused) <= KNOWN_UNUSED | SERVERLESS_ONLY | CHALLENGER_ONLY | MONITORED_ONLY | DRIFT_RUN_ONLY
    ), unused


def test_serverless_deploy_and_canary_are_allowed(aws, recorded, dev_cfg) -> None:
    """dev's classifier is serverless: the pipeline's DeployClassifier creates it and invokes it once
    (the canary); an approval switches it and invokes it again; a failed canary switches it back."""
    moto_answers(json.dumps({"predictions": [{"label": "Hawkins Lab"}]}))
    register_package(aws, CLASSIFIER, {"accuracy": 0.8}, status="Approved")
    recorded.source = "DeployClassifier (replayed)"
    assert lambda_handler.handler(step_request("DeployClassifier", dev_cfg))["action"] == "deploy"
    recorded.source = "approval (serverless)"
    v2 = register_package(aws, CLASSIFIER, {"accuracy": 0.85})
    assert lambda_handler.handler(approve(aws, v2))["action"] == "deploy"
    recorded.source = "failed canary (serverless)"
    moto_answers("not json")
    v3 = register_package(aws, CLASSIFIER, {"accuracy": 0.9})
    with pytest.raises(CanaryFailed):
        lambda_handler.handler(approve(aws, v3))

    assert ("sagemaker-runtime", "InvokeEndpoint") in recorded.calls
    unused = check(recorded, dev_cfg)
    assert "CanaryInvokeProjectEndpoints" not in unused
    allowed = (
        KNOWN_UNUSED | CHALLENGER_ONLY | MONITORED_ONLY | DRIFT_RUN_ONLY | {"ReadPipelineBuiltEndpoints"}
    )
    assert set(unused) <= allowed, unused
    assert not any(service == "scheduler" for service, _ in recorded.calls)  # serverless: no schedule
    policy = handler_policy(dev_cfg)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "CanaryInvokeProjectEndpoints"]
    denied = {a.action for a in recorded.accesses if not evaluate(policy, a).allowed}
    assert denied == {"sagemaker:InvokeEndpoint"}  # the statement is what allows the canary, nothing else


def test_policy_lacking_a_needed_statement_fails_the_check(aws, recorded, dev_cfg) -> None:
    """The check can fail: without the statement that covers the handler's own names, calls are denied."""
    register_package(aws, CHATBOT, {"chrf": 31.0}, status="Approved")
    lambda_handler.handler(step_request("DeployChatbot", dev_cfg))
    policy = handler_policy(dev_cfg)
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DeployProjectEndpoints"]
    denied = {a.action for a in recorded.accesses if not evaluate(policy, a).allowed}
    assert {"sagemaker:CreateModel", "sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint"} <= denied


def test_the_schedule_may_start_its_pipeline_only(dev_cfg: Config) -> None:
    request = schedule_request(dev_cfg, "arn:aws:iam::123456789012:role/scheduler")
    target = request["Target"]["Arn"]
    assert target == pipeline_arn(dev_cfg)
    policy = scheduler_policy(pipeline_arn(dev_cfg))
    start = Access("scheduler", "sagemaker:StartPipelineExecution", target, source="schedule")
    assert evaluate(policy, start).allowed
    other = Access("scheduler", "sagemaker:StartPipelineExecution", target.replace("-dev", "-prod"))
    assert not evaluate(policy, other).allowed
    assert unused_statements(policy, [start]) == []


def test_bucket_name_is_the_projects(dev_cfg: Config) -> None:
    assert dev_cfg.project.bucket == BUCKET


def test_challenger_flow_is_allowed(aws, recorded, dev_cfg) -> None:
    """A/B and shadow (model_registry/variants.py): add, move the split, promote, add again, abort."""
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0})
    lambda_handler.handler(approve(aws, v1))
    register_package(aws, CHATBOT, {"chrf": 33.0})
    recorded.source = "challenger-add"
    lambda_handler.handler({"request": "challenger-add", "group": CHATBOT, "version": 2, "weight": 0.2})
    recorded.source = "challenger-weight"
    lambda_handler.handler({"request": "challenger-weight", "group": CHATBOT, "weight": 0.5})
    recorded.source = "promote (approval)"
    assert lambda_handler.handler(sagemaker_event(aws, _approve_latest(aws)))["action"] == "deploy"
    register_package(aws, CHATBOT, {"chrf": 32.0})
    # A/B again, not shadow: moto drops ShadowProductionVariants, so it would see no challenger to abort
    # (a shadow's calls are the same actions on the same resources: tests/model_registry stubs them).
    recorded.source = "challenger-add"
    lambda_handler.handler({"request": "challenger-add", "group": CHATBOT, "version": 3, "weight": 0.1})
    recorded.source = "challenger-abort"
    assert lambda_handler.handler({"request": "challenger-abort", "group": CHATBOT})["variant"] == "v3"

    unused = check(recorded, dev_cfg)
    assert not CHALLENGER_ONLY & set(unused), unused
    allowed = (
        KNOWN_UNUSED | SERVERLESS_ONLY | MONITORED_ONLY | DRIFT_RUN_ONLY | {"ReadPipelineBuiltEndpoints"}
    )
    assert set(unused) <= allowed, unused
    actions = {a.action for a in recorded.accesses}
    assert {
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    } <= actions


def test_the_handler_cannot_touch_the_stacks_rollback_alarms(dev_cfg) -> None:
    """Nothing broader: the challenger alarm statement matches <endpoint>-v<n>-..., not the stack's alarms."""
    policy = handler_policy(dev_cfg)
    arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ENDPOINT}"
    assert evaluate(policy, Access("handler", "cloudwatch:DeleteAlarms", f"{arn}-v7-5xx-errors")).allowed
    assert not evaluate(policy, Access("handler", "cloudwatch:DeleteAlarms", f"{arn}-5xx-errors")).allowed
    assert not evaluate(
        policy, Access("handler", "cloudwatch:PutMetricAlarm", f"{arn}-model-latency")
    ).allowed
    other = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/someone-elses"
    assert not evaluate(
        policy, Access("handler", "sagemaker:UpdateEndpointWeightsAndCapacities", other)
    ).allowed


def _approve_latest(session: boto3.session.Session) -> str:
    sm = session.client("sagemaker")
    packages = sm.list_model_packages(ModelPackageGroupName=CHATBOT)["ModelPackageSummaryList"]
    latest = max(packages, key=lambda p: p["ModelPackageVersion"])["ModelPackageArn"]
    sm.update_model_package(ModelPackageArn=latest, ModelApprovalStatus="Approved")
    return latest
