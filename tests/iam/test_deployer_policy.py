"""IAM sufficient for whoever upserts and starts the pipeline: CI's deploy role (delivery stack).

Every AWS call `upsert` (create, then update) and `start` make under moto is recorded (tests/iam/
recorder.py) and evaluated against the delivery stack's DeployRole policy as CloudFormation renders it
for dev (tests/infra/rendering.py). Implied accesses are added: iam:PassRole of the pipeline role,
sagemaker:AddTags on create, and kms:GenerateDataKey for each upload (the bucket's default encryption is
the project key, storage stack). A person who upserts from a laptop needs the same accesses (listed in
docs/deployment.md, "Who upserts").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from conf import load_config
from conf.schema import Config
from pipelines.aws import start_pipeline, upsert_pipeline
from pipelines.definition import definition_json
from project.images import project_images
from tests.iam.policy_eval import Access, evaluate, unused_statements
from tests.iam.recorder import CallRecorder
from tests.infra.rendering import KMS_KEY_ARN, properties
from tests.pipelines.conftest import push_images

pytestmark = pytest.mark.aws

REGION, ACCOUNT = "us-east-1", "123456789012"
# Statements the upsert/start scenarios cannot exercise, and which workflow uses each.
KNOWN_UNUSED = {
    "EcrLoginIsAccountWide",  # containers workflow: docker login before pushing
    "PushProjectImages",  # containers workflow (this scenario uses its ecr:DescribeImages too)
    "PullDeepLearningContainers",  # containers workflow: the DLC base images
    "ChangeProjectStacks",  # infra workflow
    "LetCloudFormationActAsItsRole",  # infra workflow
}


@pytest.fixture(scope="module")
def cfg() -> Config:
    delivery = {"github_repository": "example-org/stranger-things-nlp"}
    return load_config("dev", overrides={"delivery": delivery})


def deploy_role_policy(cfg: Config) -> dict[str, Any]:
    role = properties(cfg, "delivery", "DeployRole")
    [policy] = [p["PolicyDocument"] for p in role["Policies"] if p["PolicyName"] == "deliver"]
    return policy


def upload_keys(recorder: CallRecorder) -> list[Access]:
    """Each PutObject into the project bucket encrypts with its default key (SSE-KMS, storage stack)."""
    return [
        Access(recorder.principal, "kms:GenerateDataKey", KMS_KEY_ARN, source=a.source)
        for a in recorder.accesses
        if a.action == "s3:PutObject"
    ]


@pytest.fixture
def recorded(cfg: Config) -> Iterator[tuple[boto3.session.Session, CallRecorder]]:
    """A session as CI's deploy role, recorded; the account's setup goes through another (unrecorded)."""
    from moto import mock_aws

    with mock_aws():
        setup = boto3.session.Session(region_name=REGION)
        setup.client("s3").create_bucket(Bucket=cfg.project.bucket)
        push_images(setup, project_images(cfg, json.loads(definition_json(cfg))))
        session = boto3.session.Session(region_name=REGION)
        yield session, CallRecorder(session, "deployer", REGION, ACCOUNT)


def test_upsert_and_start_as_the_deploy_role_are_allowed(cfg: Config, recorded) -> None:  # type: ignore[no-untyped-def]
    session, recorder = recorded
    recorder.source = "upsert (create)"
    upsert_pipeline(cfg, session)
    recorder.source = "upsert (update)"
    upsert_pipeline(cfg, session)
    recorder.source = "start"
    start_pipeline(cfg, {"ChatbotEpochs": "1"}, boto_session=session)

    calls = set(recorder.calls)
    for call in ("CreatePipeline", "UpdatePipeline", "ListTags", "AddTags", "StartPipelineExecution"):
        assert ("sagemaker", call) in calls, call
    assert ("ecr", "DescribeImages") in calls and ("s3", "ListObjectsV2") in calls
    policy = deploy_role_policy(cfg)
    accesses = recorder.accesses + upload_keys(recorder)
    denied = sorted({str(a) for a in accesses if not evaluate(policy, a).allowed})
    assert denied == [], "the deploy role's policy does not allow:\n" + "\n".join(denied)
    assert set(unused_statements(policy, accesses)) <= KNOWN_UNUSED


def test_a_deploy_role_without_describe_images_cannot_upsert(cfg: Config, recorded) -> None:  # type: ignore[no-untyped-def]
    """The check can fail: without ecr:DescribeImages the image check (and so upsert) is denied."""
    session, recorder = recorded
    upsert_pipeline(cfg, session)
    policy = deploy_role_policy(cfg)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "ecr:DescribeImages"]
    denied = {(a.action, a.resource) for a in recorder.accesses if not evaluate(policy, a).allowed}
    repositories = {
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{cfg.project.name}-{role}"
        for role in ("processing", "training", "inference")
    }
    assert denied == {("ecr:DescribeImages", arn) for arn in repositories}
