"""Model card content: the limits CreateModelPackage applies, and reading a card back from SageMaker."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import Stubber

from model_registry.cards import InvalidModelCard, model_card_request, parse_content, render_card
from model_registry.sagemaker_backend import SageMakerRegistry

GROUP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/stranger-things-chatbot"
CONTENT = {
    "model_overview": {"model_creator": "stranger-things-nlp"},
    "evaluation_details": [
        {
            "name": "test",
            "metric_groups": [{"name": "test split", "metric_data": [{"name": "chrf", "value": 31.5}]}],
        }
    ],
}


def test_content_outside_the_schema_is_refused() -> None:
    with pytest.raises(InvalidModelCard, match="not JSON"):
        parse_content("{not json")
    with pytest.raises(InvalidModelCard, match="sections metrics are not in the schema"):
        parse_content(json.dumps({"metrics": {}}))
    with pytest.raises(InvalidModelCard, match="at most 100000"):
        parse_content(json.dumps({"intended_uses": {"intended_uses": "x" * 100_000}}))
    with pytest.raises(InvalidModelCard, match=r"model_overview\.model_description: a model package's card"):
        parse_content(json.dumps({"model_overview": {"model_description": "a chatbot"}}))
    with pytest.raises(InvalidModelCard, match="status 'Final'"):
        model_card_request("{}", "Final")
    assert parse_content(json.dumps(CONTENT)) == CONTENT


def test_sagemaker_registry_reads_the_card_of_a_package() -> None:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    registry = SageMakerRegistry(client)
    with Stubber(client) as stub:
        stub.add_response(
            "describe_model_package_group",
            {
                "ModelPackageGroupName": "stranger-things-chatbot",
                "ModelPackageGroupArn": GROUP_ARN,
                "CreationTime": datetime.datetime(2026, 1, 1),
                "CreatedBy": {},
                "ModelPackageGroupStatus": "Completed",
            },
        )
        package = {
            "ModelPackageName": "stranger-things-chatbot",
            "ModelPackageArn": GROUP_ARN.replace("-group/", "/") + "/3",
            "CreationTime": datetime.datetime(2026, 1, 1),
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": []},
        }
        stub.add_response(
            "describe_model_package",
            {**package, "ModelCard": {"ModelCardContent": json.dumps(CONTENT), "ModelCardStatus": "Draft"}},
            {"ModelPackageName": package["ModelPackageArn"]},
        )
        stub.add_response("describe_model_package", package, {"ModelPackageName": package["ModelPackageArn"]})
        assert registry.card("stranger-things-chatbot", 3) == CONTENT
        assert registry.card("stranger-things-chatbot", 3) is None  # registered before cards
    assert "chrf                   31.5" in render_card(CONTENT, "v3")
