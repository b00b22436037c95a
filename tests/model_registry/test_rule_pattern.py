"""The approval rules' pattern, checked by EventBridge itself (moto): only the project's groups, only
that status. The operations stack's rules carry this pattern (tests/infra/test_policies.py)."""

from __future__ import annotations

import json

import boto3
import pytest

from model_registry.deploy_logic import approval_rule_pattern
from tests.model_registry.conftest import ACCOUNT, REGION

pytestmark = pytest.mark.aws

GROUPS = ["stranger-things-chatbot", "stranger-things-location-classifier"]


def _event(group: str, status: str, version: int = 1, package_status: str = "Completed") -> dict:
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": arn,
        "ModelPackageStatus": package_status,
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
        _event("stranger-things-chatbot", status, 9, package_status="InProgress"),  # not Completed yet
        _event("stranger-things-chatbot", status, 10, package_status="Failed"),
    ]
    assert events.put_events(Entries=sent)["FailedEntryCount"] == 0

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    )
    versions = sorted(json.loads(m["Body"])["detail"]["ModelPackageVersion"] for m in received)
    assert versions == [3, 4]
