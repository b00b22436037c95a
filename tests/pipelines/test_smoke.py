"""`make smoke-aws`: the smoke variant's config, its preflight, and the run under moto as far as moto goes.

moto 5.2.5 implements neither ListPipelineExecutionSteps nor Service Quotas (both raise
NotImplementedError), and runs no step: the step-by-step view and the cost are tested on answers shaped as
SageMaker's, the quota reader is replaced, and the moto run checks that the smoke says it can follow the
execution's status only, and still cleans up.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from pipelines import smoke
from pipelines.definition import definition_json
from tests.pipelines.conftest import push_images, steps_by_name

REGION = "us-east-1"


@pytest.fixture(scope="module")
def cfg() -> Any:
    return smoke.smoke_config("dev")


def test_smoke_variant_runs_every_job_on_cpu_with_the_tiny_models(cfg: Any) -> None:
    definition = json.loads(definition_json(cfg))
    for name, step in steps_by_name(definition).items():
        if step["Type"] == "Processing":
            assert ":cpu-" in step["Arguments"]["AppSpecification"]["ImageUri"], name
        if step["Type"] == "Training":
            assert ":cpu-" in step["Arguments"]["AlgorithmSpecification"]["TrainingImage"], name
    types = {
        p["Name"]: p["DefaultValue"] for p in definition["Parameters"] if p["Name"].endswith("InstanceType")
    }
    assert types and set(types.values()) == {smoke.CPU_INSTANCE}, types
    defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert defaults["ChatbotModelId"] == "tiny:qwen2" and defaults["ClassifierModelId"] == "tiny:distilbert"
    assert defaults["ChatbotTrainingInstanceType"] == smoke.CPU_INSTANCE
    assert defaults["ModelApprovalStatus"] == "PendingManualApproval"  # never changes what is live
    assert all(":cpu-" in uri for uri in smoke.smoke_images(cfg))
    assert smoke.smoke_pipeline_name(cfg) == "stranger-things-nlp-dev-smoke"


@pytest.mark.aws
def test_preflight_names_every_missing_piece_and_nothing_is_created(cfg: Any, monkeypatch) -> None:
    from moto import mock_aws

    monkeypatch.setattr(smoke, "read_quotas", lambda session: {})
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        said: list[str] = []
        assert smoke.run_smoke(cfg, session, said.append) == 2
        failed = [line for line in said if line.startswith("FAIL")]
        assert any("bucket" in line and "make deploy-infra" in line for line in failed)
        assert any("job role" in line for line in failed) and any("pipeline role" in line for line in failed)
        assert any("deploy handler" in line for line in failed)
        assert any("image" in line and "make build-containers" in line for line in failed)
        assert any("quota" in line and "not listed" in line for line in failed)
        assert said[-1].endswith("nothing was created")
        assert session.client("sagemaker").list_pipelines()["PipelineSummaries"] == []


def _account_ready(session: boto3.session.Session, cfg: Any) -> None:
    session.client("s3").create_bucket(Bucket=cfg.project.bucket)
    iam = session.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for name in (cfg.project.role_name, cfg.project.pipeline_role_name, "handler"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    session.client("lambda").create_function(
        FunctionName="stranger-things-nlp-dev-deploy-handler",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{cfg.project.account_id}:role/handler",
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )
    push_images(session, smoke.smoke_images(cfg))


@pytest.mark.aws
def test_smoke_under_moto_upserts_starts_says_it_cannot_follow_and_cleans_up(cfg: Any, monkeypatch) -> None:
    from moto import mock_aws

    quotas = {name: 2.0 for name in smoke.quota_names(cfg)}
    monkeypatch.setattr(smoke, "read_quotas", lambda session: quotas)
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        _account_ready(session, cfg)
        said: list[str] = []
        code = smoke.run_smoke(cfg, session, said.append, poll_s=0, sleep=lambda s: None)

        assert not [line for line in said if line.startswith("FAIL")], said
        assert any(line.startswith("upserted arn:aws:sagemaker") for line in said)
        assert any(line.startswith("started arn:aws:sagemaker") for line in said)
        assert any("its steps cannot be listed here" in line for line in said)
        assert "execution: Succeeded" in said  # moto's answer: the smoke follows the status only
        assert "total: 0.000 instance-hours, estimated ~$0.00 (on-demand list prices, us-east-1)" in said
        assert "deleted pipeline stranger-things-nlp-dev-smoke" in said
        assert session.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
        assert code == 0


class FakeSageMaker:
    """The answers SageMaker gives while an execution runs: two polls, then Succeeded."""

    def __init__(self) -> None:
        self.polls = 0
        start = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        self.processing = {
            "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}},
            "ProcessingStartTime": start,
            "ProcessingEndTime": start + timedelta(minutes=15),
        }
        self.training = {
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
            "BillableTimeInSeconds": 1800,
        }

    def describe_pipeline_execution(self, **_: Any) -> dict[str, Any]:
        self.polls += 1
        return {"PipelineExecutionStatus": "Executing" if self.polls < 2 else "Succeeded"}

    def get_paginator(self, name: str) -> Any:
        steps = [
            {
                "StepName": "CleanSubtitles",
                "StepStatus": "Succeeded",
                "Metadata": {"ProcessingJob": {"Arn": "arn:aws:sagemaker:r:a:processing-job/p1"}},
            },
            {
                "StepName": "TrainChatbot",
                "StepStatus": "Executing" if self.polls < 2 else "Succeeded",
                "Metadata": {"TrainingJob": {"Arn": "arn:aws:sagemaker:r:a:training-job/t1"}},
            },
        ]

        class Pages:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [{"PipelineExecutionSteps": steps}]

        return Pages()

    def describe_processing_job(self, **_: Any) -> dict[str, Any]:
        return self.processing

    def describe_training_job(self, **_: Any) -> dict[str, Any]:
        return self.training


def test_follow_reports_each_step_change_once_then_the_cost() -> None:
    sm, said = FakeSageMaker(), []
    result = smoke.follow(sm, "arn:execution", said.append, poll_s=0, sleep=lambda s: None)
    assert result.status == "Succeeded"
    assert said == [
        "CleanSubtitles: Succeeded",
        "TrainChatbot: Executing",
        "TrainChatbot: Succeeded",
        "execution: Succeeded",
    ]
    lines = smoke.cost_lines(smoke.job_usage(sm, result.steps))
    # 2 x 15 min + 1 x 30 min = 1.0 instance-hour of ml.m5.xlarge at $0.23
    assert lines == [
        "CleanSubtitles: 2 x ml.m5.xlarge, 0.500 instance-h",
        "TrainChatbot: 1 x ml.m5.xlarge, 0.500 instance-h",
        "total: 1.000 instance-hours, estimated ~$0.23 (on-demand list prices, us-east-1)",
    ]
