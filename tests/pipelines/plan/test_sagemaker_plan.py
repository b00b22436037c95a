"""`make plan` against a deployed pipeline, under moto: DescribePipeline, the semantic diff, the S3 data."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from conf import load_config
from pipelines.plan.cache_plan import HIT, RECOMPUTE, plan_execution
from pipelines.plan.deployed import (
    LastExecution,
    deployed_definition,
    last_execution,
    previous_execution,
    s3_fingerprints,
)
from pipelines.plan.diff import diff_definitions
from pipelines.plan.sagemaker_plan import sagemaker_plan
from tests.pipelines.conftest import steps_by_name

BUCKET = "stranger-things-nlp-artifacts"


@pytest.fixture
def aws():  # type: ignore[no-untyped-def]
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=BUCKET)
        yield session


def _deploy(aws: Any, definition: dict[str, Any]) -> None:
    aws.client("sagemaker").create_pipeline(
        PipelineName="stranger-things-nlp-dev",
        PipelineDefinition=json.dumps(definition),
        RoleArn="arn:aws:iam::123456789012:role/x",
    )


def test_no_deployed_pipeline_plans_against_nothing(aws: Any, definitions: dict[str, Any]) -> None:
    assert deployed_definition(aws.client("sagemaker"), "stranger-things-nlp-dev") is None
    text = sagemaker_plan(load_config("dev"), aws, definitions["dev"])
    assert (
        text.splitlines()[0] == "pipeline stranger-things-nlp-dev is not deployed: planning against nothing"
    )
    assert "0 step(s) hit the cache" in text


def test_describe_pipeline_gives_the_deployed_definition_and_a_semantic_diff(
    aws: Any, definitions: dict[str, Any]
) -> None:
    deployed = copy.deepcopy(definitions["dev"])
    steps = steps_by_name(deployed)
    steps["TrainChatbot"]["Arguments"]["HyperParameters"]["lora_r"] = "8"
    steps["TrainLocationClassifier"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] = "old:1"
    epochs = next(p for p in deployed["Parameters"] if p["Name"] == "ClassifierEpochs")
    current_epochs = epochs["DefaultValue"]
    epochs["DefaultValue"] = current_epochs + 1
    _deploy(aws, deployed)
    assert deployed_definition(aws.client("sagemaker"), "stranger-things-nlp-dev") == deployed

    changes = diff_definitions(deployed, definitions["dev"])
    assert f"~ parameter ClassifierEpochs: {current_epochs + 1!r} -> {current_epochs!r}" in changes
    assert "~ TrainChatbot: hyperparameter lora_r 8 -> 16" in changes
    assert any(c.startswith("~ TrainLocationClassifier: image old:1 -> ") for c in changes)
    assert len(changes) == 3
    assert diff_definitions(definitions["dev"], definitions["dev"]) == []

    text = sagemaker_plan(load_config("dev"), aws, definitions["dev"])
    assert text.splitlines()[0] == "plan against the deployed pipeline stranger-things-nlp-dev"
    assert "  ~ TrainChatbot: hyperparameter lora_r 8 -> 16" in text


def _put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_s3_listing_keeps_the_recorded_fingerprint_until_a_folder_changes(
    aws: Any, definitions: dict[str, Any]
) -> None:
    s3 = aws.client("s3")
    prefix = "stranger-things-nlp/data/raw"
    for folder, body in (("subtitles", b"1\n"), ("transcripts", b"a,b\n"), ("locations", b"{}\n")):
        _put(s3, f"{prefix}/{folder}/one", body)
    recorded = {
        "subtitles": {"sha256": "s" * 64, "files": 1, "bytes": 2},
        "transcripts": {"sha256": "t" * 64, "files": 1, "bytes": 4},
        "locations": {"sha256": "l" * 64, "files": 1, "bytes": 3},
    }
    later = datetime.now(UTC) + timedelta(minutes=1)
    last = LastExecution(later, frozenset(steps_by_name(definitions["dev"])), {}, recorded)
    folders = ("subtitles", "transcripts", "locations")
    same = s3_fingerprints(s3, f"s3://{BUCKET}/{prefix}", folders, last)
    assert same == {name: part["sha256"] for name, part in recorded.items()}

    _put(s3, f"{prefix}/locations/two", b"{}\n")  # a new location file
    changed = s3_fingerprints(s3, f"s3://{BUCKET}/{prefix}", folders, last)
    assert changed["subtitles"] == same["subtitles"] and changed["transcripts"] == same["transcripts"]
    assert changed["locations"].startswith("listing:")

    definition = definitions["dev"]
    previous = previous_execution(definition, last)
    current = previous.__class__(definition, previous.parameters, changed)
    plans = {p.name: p for p in plan_execution(current, previous)}
    recomputed = {name for name, p in plans.items() if p.status == RECOMPUTE}
    recomputes = {"PrepareLocationData", "TrainLocationClassifier", "EvaluateClassifier"}
    assert recomputed == recomputes | {"ComputeClassifierBaseline"}  # the baseline runs the trained model
    assert plans["TrainChatbot"].status == HIT


def test_last_execution_reads_durations_completed_steps_and_the_fingerprint(aws: Any) -> None:
    """ListPipelineExecutionSteps is not in moto: botocore's Stubber checks the calls against the model."""
    from botocore.stub import Stubber

    sm = boto3.client("sagemaker", region_name="us-east-1")
    s3 = aws.client("s3")
    output = f"s3://{BUCKET}/dev/runs/exec-1/FingerprintData/fingerprint"
    folders = {"locations": {"sha256": "l" * 64, "files": 2, "bytes": 10}}
    s3.put_object(
        Bucket=BUCKET,
        Key="dev/runs/exec-1/FingerprintData/fingerprint/fingerprint.json",
        Body=json.dumps({"sha256": "x", "folders": folders}).encode(),
    )
    start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/stranger-things-nlp-dev/execution/exec-1"
    job = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-exec-1-fingerprintdata"
    with Stubber(sm) as stub:
        stub.add_response(
            "list_pipeline_executions",
            {"PipelineExecutionSummaries": [{"PipelineExecutionArn": arn, "StartTime": start}]},
            {"PipelineName": "stranger-things-nlp-dev", "SortBy": "CreationTime", "SortOrder": "Descending"},
        )
        stub.add_response(
            "list_pipeline_execution_steps",
            {
                "PipelineExecutionSteps": [
                    {
                        "StepName": "FingerprintData",
                        "StepStatus": "Succeeded",
                        "StartTime": start,
                        "EndTime": start + timedelta(minutes=2),
                        "Metadata": {"ProcessingJob": {"Arn": job}},
                    },
                    {
                        "StepName": "TrainChatbot",
                        "StepStatus": "Succeeded",
                        "StartTime": start,
                        "EndTime": start + timedelta(minutes=42),
                    },
                    {
                        "StepName": "CleanSubtitles",
                        "StepStatus": "Succeeded",
                        "StartTime": start,
                        "EndTime": start + timedelta(seconds=5),
                        "CacheHitResult": {"SourcePipelineExecutionArn": arn},
                    },
                    {"StepName": "EvaluateChatbot", "StepStatus": "Failed", "StartTime": start},
                ]
            },
            {"PipelineExecutionArn": arn},
        )
        stub.add_response(
            "describe_processing_job",
            {
                "ProcessingJobName": "pipelines-exec-1-fingerprintdata",
                "ProcessingJobArn": job,
                "ProcessingJobStatus": "Completed",
                "CreationTime": start,
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": "ml.m5.xlarge",
                        "VolumeSizeInGB": 30,
                    }
                },
                "AppSpecification": {"ImageUri": "img"},
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {
                            "OutputName": "fingerprint",
                            "S3Output": {"S3Uri": output, "LocalPath": "/x", "S3UploadMode": "EndOfJob"},
                        }
                    ]
                },
            },
            {"ProcessingJobName": "pipelines-exec-1-fingerprintdata"},
        )
        last = last_execution(sm, s3, "stranger-things-nlp-dev")
    assert last is not None
    assert last.started == start
    assert last.completed == frozenset({"FingerprintData", "TrainChatbot", "CleanSubtitles"})
    # A cache hit's time says nothing about the job: only steps that ran give durations.
    assert last.durations == {"FingerprintData": 120.0, "TrainChatbot": 2520.0}
    assert last.folders == folders
