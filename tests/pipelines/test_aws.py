"""Under moto: upsert creates then updates the pipeline with its tags once ECR holds its images (and
refuses, naming them, when it does not); start takes typed parameters."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from moto import mock_aws

from conf import load_config
from pipelines.aws import parse_params, pipeline_tags, start_pipeline, typed_parameters, upsert_pipeline
from pipelines.containers import required_images
from project.bundle import bundle_hash
from project.images import project_images
from tests.pipelines.conftest import definition_text, push_images

pytestmark = pytest.mark.aws


def dev_images() -> list[str]:
    return project_images(load_config("dev"), json.loads(definition_text("dev")))


@pytest.fixture
def bare():  # type: ignore[no-untyped-def]
    """An account with the project bucket and nothing in ECR."""
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=load_config("dev").project.bucket)
        yield session


@pytest.fixture
def aws(bare):  # type: ignore[no-untyped-def]
    """The account after `make build-containers`: every project image of the dev definition pushed."""
    push_images(bare, dev_images())
    return bare


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
        ValueError, match="unknown pipeline parameter 'Epochs'; known: ChatbotEpochs, ChatbotEvaluation"
    ):
        typed_parameters(cfg, {"Epochs": "1"})
    with pytest.raises(ValueError, match="ProcessingInstanceCount is a int parameter; 'two' is not one"):
        typed_parameters(cfg, {"ProcessingInstanceCount": "two"})
    with pytest.raises(ValueError, match="ModelApprovalStatus must be one of Approved, Rejected"):
        typed_parameters(cfg, {"ModelApprovalStatus": "Maybe"})
    with pytest.raises(ValueError, match="expected Name=value"):
        parse_params(["ChatbotEpochs"])


def test_an_endpoint_type_override_says_where_the_serving_type_is_set() -> None:
    """Both deploy triggers serve on conf <model>.serving.instance_type: no run-time override of it."""
    with pytest.raises(ValueError) as refused:
        typed_parameters(load_config("prod"), {"ClassifierEndpointInstanceType": "ml.c5.xlarge"})
    assert str(refused.value) == (
        "ClassifierEndpointInstanceType is not a pipeline parameter: both deploy triggers serve on conf "
        "classifier.serving.instance_type; set it in conf/prod.yaml, then `make deploy-infra ENV=prod` "
        "(the deploy handler's settings) and `make upsert-pipeline ENV=prod`"
    )


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


def test_the_images_upsert_checks_are_the_ones_build_containers_pushes() -> None:
    for env in ("dev", "prod"):
        cfg = load_config(env)
        checked = project_images(cfg, json.loads(definition_text(env)))
        pushed = [spec.uri for spec in required_images(cfg) if spec.project_built]
        assert checked and sorted(checked) == sorted(pushed), env
    assert {uri.rsplit(":", 1)[1].split("-")[0] for uri in dev_images()} == {"cpu", "gpu"}


def test_upsert_refuses_images_not_in_ecr_naming_them_and_the_fix(bare) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config("dev")
    images = dev_images()
    gpu_training = next(uri for uri in images if "-training:gpu-" in uri)
    inference = [uri for uri in images if "-inference:" in uri]
    # The training repository exists without the GPU tag; the inference repository does not exist.
    push_images(bare, [uri for uri in images if uri != gpu_training and uri not in inference])
    with pytest.raises(ValueError) as refused:
        upsert_pipeline(cfg, bare)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"refusing to upsert: not in ECR: {inference[0]} (RepositoryNotFoundException)")
    assert f"{gpu_training} (ImageNotFoundException)" in message
    assert message.endswith(": build and push them with `make build-containers ENV=dev`")
    assert message.count(" (") == 3  # exactly the three missing images
    assert bare.client("s3").list_objects_v2(Bucket=cfg.project.bucket).get("KeyCount", 0) == 0
    assert bare.client("sagemaker").list_pipelines()["PipelineSummaries"] == []

    push_images(bare, [gpu_training, *inference])  # `make build-containers`, then upsert goes through
    assert upsert_pipeline(cfg, bare).pipeline_arn.endswith(":pipeline/stranger-things-nlp-dev")


def test_an_ecr_error_other_than_not_found_is_not_called_missing() -> None:
    from botocore.exceptions import ClientError

    from project.images import missing_images

    class DeniedEcr:
        def describe_images(self, **_: object) -> None:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeImages")

    with pytest.raises(ClientError, match="AccessDeniedException"):
        missing_images(DeniedEcr(), dev_images())


def test_the_image_check_asks_the_registry_the_uri_names() -> None:
    """A project image in another account's registry is looked up there, not in the caller's."""
    from project.images import missing_images

    asked: list[dict[str, object]] = []

    class RecordingEcr:
        def describe_images(self, **request: object) -> None:
            asked.append(request)

    uri = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/stranger-things-nlp-training:gpu-0123456789ab"
    assert missing_images(RecordingEcr(), [uri]) == {}
    assert asked == [
        {
            "repositoryName": "stranger-things-nlp-training",
            "imageIds": [{"imageTag": "gpu-0123456789ab"}],
            "registryId": "210987654321",
        }
    ]
