"""Under moto: upsert creates then updates the pipeline with its tags; start takes typed parameters."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from moto import mock_aws

from conf import load_config
from pipelines.aws import parse_params, pipeline_tags, start_pipeline, typed_parameters, upsert_pipeline
from project.bundle import bundle_hash
from tests.pipelines.conftest import definition_text

pytestmark = pytest.mark.aws


@pytest.fixture
def aws():  # type: ignore[no-untyped-def]
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=load_config("dev").project.bucket)
        yield session


def test_upsert_creates_then_updates_with_tags_and_uploaded_code(aws) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config("dev")
    sm = aws.client("sagemaker")
    created = upsert_pipeline(cfg, aws)
    assert created.pipeline_arn == "arn:aws:sagemaker:us-east-1:123456789012:pipeline/stranger-things-nlp-dev"
    assert created.code_uri.endswith(f"/code/{bundle_hash()}/")
    described = sm.describe_pipeline(PipelineName="stranger-things-nlp-dev")
    assert json.loads(described["PipelineDefinition"]) == json.loads(definition_text("dev"))
    assert described["RoleArn"] == cfg.project.pipeline_role_arn  # the pipeline role, not the job role
    assert "stranger-things-nlp (dev)" in described["PipelineDescription"]
    tags = {(t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=created.pipeline_arn)["Tags"]}
    assert tags == {("project", "stranger-things-nlp"), ("environment", "dev")}
    tarball = created.code_uri.removeprefix("s3://stranger-things-nlp-artifacts/") + "sourcedir.tar.gz"
    assert (
        aws.client("s3").head_object(Bucket="stranger-things-nlp-artifacts", Key=tarball)["ContentLength"] > 0
    )
    # Every step's own bundle (its code key) is uploaded too: each code URI the definition names exists.
    code_keys = set(re.findall(r"/code/([0-9a-f]{12})/", described["PipelineDefinition"]))
    assert len(code_keys) > 1
    for key in code_keys:
        listed = aws.client("s3").list_objects_v2(
            Bucket="stranger-things-nlp-artifacts", Prefix=f"stranger-things-nlp/code/{key}/sourcedir.tar.gz"
        )
        assert listed["KeyCount"] == 1, key

    updated = upsert_pipeline(cfg, aws)
    assert updated.pipeline_arn == created.pipeline_arn
    assert len(sm.list_pipelines()["PipelineSummaries"]) == 1


def test_start_with_overridden_parameters(aws) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config("dev")
    upsert_pipeline(cfg, aws)
    arn = start_pipeline(
        cfg,
        parse_params(["ChatbotEpochs=1", "ModelApprovalStatus=Approved", "ProcessingInstanceCount=3"]),
        boto_session=aws,
    )
    assert arn.startswith(
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/stranger-things-nlp-dev/execution/"
    )
    sm = aws.client("sagemaker")
    params = sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in params} == {
        "ChatbotEpochs": "1.0",
        "ModelApprovalStatus": "Approved",
        "ProcessingInstanceCount": "3",
    }


def test_parameter_overrides_are_checked_before_anything_is_sent() -> None:
    cfg = load_config("dev")
    assert typed_parameters(cfg, {"ChatbotMaxSteps": "50", "InputDataUri": "s3://b/other"}) == {
        "ChatbotMaxSteps": 50,
        "InputDataUri": "s3://b/other",
    }
    with pytest.raises(
        ValueError, match="unknown pipeline parameter 'Epochs'; known: ChatbotEndpointInstanceType"
    ):
        typed_parameters(cfg, {"Epochs": "1"})
    with pytest.raises(ValueError, match="ProcessingInstanceCount is a int parameter; 'two' is not one"):
        typed_parameters(cfg, {"ProcessingInstanceCount": "two"})
    with pytest.raises(ValueError, match="ModelApprovalStatus must be one of Approved, Rejected"):
        typed_parameters(cfg, {"ModelApprovalStatus": "Maybe"})
    with pytest.raises(ValueError, match="expected Name=value"):
        parse_params(["ChatbotEpochs"])


def test_tags_include_the_environment() -> None:
    assert pipeline_tags(load_config("prod")) == [
        {"Key": "environment", "Value": "prod"},
        {"Key": "project", "Value": "stranger-things-nlp"},
    ]


def test_upsert_refuses_a_definition_aws_would_refuse_before_uploading(aws) -> None:  # type: ignore[no-untyped-def]
    # prod's key is an alias (until `make infra-outputs` writes its ARN); on a CPU type the classifier's
    # training job would get it as its volume key, which AWS takes as a key id or ARN only.
    cfg = load_config("prod", overrides={"classifier": {"training": {"instance_type": "ml.c5.2xlarge"}}})
    with pytest.raises(
        ValueError, match=r"refusing to upsert: TrainLocationClassifier: \[training-volume-key-format\]"
    ):
        upsert_pipeline(cfg, aws)
    assert aws.client("s3").list_objects_v2(Bucket=cfg.project.bucket).get("KeyCount", 0) == 0
    assert aws.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
