"""`make deploy-approval-handler` under moto, and the rule pattern checked by EventBridge itself."""

from __future__ import annotations

import json

import boto3
import pytest

from conf.schema import Config
from model_registry.approval_infra import approval_rule_pattern, deploy_approval_handler
from model_registry.lambda_bundle import HANDLER
from model_registry.lambda_handler import SETTINGS_ENV
from model_registry.settings import handler_settings
from tests.model_registry.conftest import ACCOUNT, REGION

pytestmark = pytest.mark.aws

GROUPS = ["stranger-things-chatbot", "stranger-things-location-classifier"]
FUNCTION = "stranger-things-nlp-dev-deploy-handler"


def test_deploy_approval_handler_creates_role_function_rules_and_alarms(aws, dev_cfg: Config) -> None:
    made = deploy_approval_handler(dev_cfg, aws, sleep=lambda _: None)

    assert made["function"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
    function = aws.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["Handler"] == HANDLER and function["Role"] == made["role"]
    shipped = json.loads(function["Environment"]["Variables"][SETTINGS_ENV])
    assert json.loads(handler_settings(dev_cfg).to_json()) == shipped

    iam = aws.client("iam")
    trust = iam.get_role(RoleName=FUNCTION)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policy = iam.get_role_policy(RoleName=FUNCTION, PolicyName="deploy-handler")["PolicyDocument"]
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert "sagemaker:UpdateEndpoint" in actions and not any("*" in a for a in actions)

    events = aws.client("events")
    for status, rule in (("Approved", "model-approved"), ("Rejected", "model-rejected")):
        name = f"stranger-things-nlp-dev-{rule}"
        assert json.loads(events.describe_rule(Name=name)["EventPattern"]) == approval_rule_pattern(
            GROUPS, status
        )
        [target] = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == made["function"]
    permissions = json.loads(aws.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])["Statement"]
    assert sorted(p["Condition"]["ArnLike"]["AWS:SourceArn"] for p in permissions) == sorted(
        made["rules"].values()
    )

    alarms = aws.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert (
        sorted(a["AlarmName"] for a in alarms)
        == sorted(made["alarms"])
        == [
            "stranger-things-nlp-dev-chatbot-5xx-errors",
            "stranger-things-nlp-dev-chatbot-model-latency",
            "stranger-things-nlp-dev-classifier-5xx-errors",
            "stranger-things-nlp-dev-classifier-model-latency",
        ]
    )
    latency = next(a for a in alarms if a["AlarmName"] == "stranger-things-nlp-dev-chatbot-model-latency")
    assert latency["MetricName"] == "ModelLatency" and latency["Threshold"] == 2_000_000.0


def test_deploy_approval_handler_twice_updates_in_place(aws, dev_cfg: Config) -> None:
    first = deploy_approval_handler(dev_cfg, aws, sleep=lambda _: None)
    second = deploy_approval_handler(dev_cfg, aws, sleep=lambda _: None)
    assert second == first
    assert len(aws.client("lambda").list_functions()["Functions"]) == 1
    assert len(json.loads(aws.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])["Statement"]) == 2
    assert len(aws.client("events").list_rules()["Rules"]) == 2


def _event(group: str, status: str, version: int = 1) -> dict:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }
    return {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Model Package State Change",
        "Resources": [arn],
        "Detail": json.dumps(detail),
    }


@pytest.mark.parametrize("status", ["Approved", "Rejected"])
def test_rule_pattern_delivers_only_that_status_of_the_projects_groups(
    aws: boto3.session.Session, status: str
) -> None:
    sqs, events = aws.client("sqs"), aws.client("events")
    queue = sqs.create_queue(QueueName="deliveries")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="probe", EventPattern=json.dumps(approval_rule_pattern(GROUPS, status)))
    events.put_targets(Rule="probe", Targets=[{"Id": "queue", "Arn": queue_arn}])

    other = "Rejected" if status == "Approved" else "Approved"
    sent = [
        _event("stranger-things-chatbot", status, 3),  # delivered
        _event("stranger-things-location-classifier", status, 4),  # delivered
        _event("stranger-things-chatbot", other, 5),
        _event("stranger-things-chatbot", "PendingManualApproval", 6),
        _event("someone-elses-model", status, 7),
        {**_event("stranger-things-chatbot", status, 8), "Source": "my.app"},
    ]
    assert events.put_events(Entries=sent)["FailedEntryCount"] == 0

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    versions = sorted(json.loads(m["Body"])["detail"]["ModelPackageVersion"] for m in received)
    assert versions == [3, 4]
