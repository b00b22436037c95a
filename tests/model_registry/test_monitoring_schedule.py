"""The monitoring schedule without Model Monitor: a Scheduler target (the deploy handler) that starts the
job on the window's capture (model_registry/drift_run.py writes its manifest)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator

from conf import load_config
from containers.monitoring import monitor
from model_registry import drift_run
from model_registry import monitoring_schedule as ms
from model_registry.settings import monitoring_settings

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/stranger-things-nlp-processing:abc"
ROLE = "arn:aws:iam::123456789012:role/StrangerThingsNlpSageMakerExecution"
SCHEDULER_ROLE = "arn:aws:iam::123456789012:role/stranger-things-nlp-dev-scheduler"
CODE = "s3://stranger-things-nlp-artifacts/stranger-things-nlp/code/0123456789ab/"
CAPTURE = "s3://stranger-things-nlp-artifacts/stranger-things-nlp/dev/data-capture/classifier/stranger-things-nlp-dev-classifier/"
BASELINE = (
    "s3://stranger-things-nlp-artifacts/stranger-things-nlp/dev/runs/x/ComputeClassifierBaseline/baseline/"
)
MODEL_SECTIONS = ("chatbot", "classifier", "themes")  # isolated jobs take their models from S3
# What the Scheduler substitutes for the context attributes when the schedule fires.
FIRED = {ms.EXECUTION_ID: "0f8fad5b-d9cb-469f-a165-70867728950e", ms.SCHEDULED_TIME: "2026-11-30T04:15:00Z"}


def request(env: str = "dev") -> dict[str, Any]:
    cfg = load_config(env)
    return ms.schedule_request(
        monitoring_settings(cfg), "classifier", IMAGE, ROLE, SCHEDULER_ROLE, CODE, CAPTURE, BASELINE
    )


def fired_event(env: str = "dev") -> dict[str, Any]:
    """What the handler receives when the schedule fires (the context attributes substituted)."""
    text = request(env)["Target"]["Input"]
    for attribute, value in FIRED.items():
        text = text.replace(attribute, value)
    return json.loads(text)


def fired_job(env: str = "dev") -> dict[str, Any]:
    return fired_event(env)["job"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_job_a_firing_starts_is_a_valid_create_processing_job_request(env: str) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateProcessingJob").input_shape
    report = ParamValidator().validate(fired_job(env), shape)
    assert not report.has_errors(), report.generate_report()
    name = fired_job(env)["ProcessingJobName"]
    assert re.fullmatch(shape.members["ProcessingJobName"].metadata["pattern"], name), name
    assert len(name) <= shape.members["ProcessingJobName"].metadata["max"]


def test_the_job_checks_the_hour_before_the_firing_and_publishes_its_figures() -> None:
    job = fired_job()
    args = monitor.parse_args(job["AppSpecification"]["ContainerArguments"], env={})
    assert (args.start.isoformat(), args.end.isoformat()) == (
        "2026-11-30T03:15:00+00:00",
        "2026-11-30T04:15:00+00:00",
    )
    assert (args.endpoint_name, args.schedule_name) == (
        "stranger-things-nlp-dev-classifier",
        "stranger-things-nlp-dev-classifier-drift",
    )
    assert args.publish_metrics is True and args.alpha == 0.001
    mounts = {
        i["InputName"]: (i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in job["ProcessingInputs"]
    }
    # The capture arrives through the firing's own manifest, which lists the window's files only.
    manifest = (
        "s3://stranger-things-nlp-artifacts/stranger-things-nlp/dev/monitoring/manifests/"
        f"stranger-things-nlp-dev-classifier/{FIRED[ms.EXECUTION_ID]}.json"
    )
    assert mounts["endpoint"] == (manifest, str(args.capture))
    types = {i["InputName"]: i["S3Input"]["S3DataType"] for i in job["ProcessingInputs"]}
    assert types == {"endpoint": "ManifestFile", "baseline": "S3Prefix", "code": "S3Prefix"}
    assert mounts["baseline"] == (BASELINE, str(args.baseline_dir))
    assert job["AppSpecification"]["ContainerEntrypoint"][1].startswith(mounts["code"][1] + "/containers/")


def test_the_schedule_goes_through_the_scheduler_api(aws: boto3.session.Session) -> None:
    client = aws.client("scheduler")
    client.create_schedule(**request())
    stored = client.get_schedule(Name="stranger-things-nlp-dev-classifier-drift")
    assert stored["ScheduleExpression"] == "cron(15 * * * ? *)"
    # A templated Lambda target: the deploy handler's ARN; the Input is its drift-run request.
    assert stored["Target"]["Arn"] == (
        "arn:aws:lambda:us-east-1:123456789012:function:stranger-things-nlp-dev-deploy-handler"
    )
    assert ms.EXECUTION_ID in stored["Target"]["Input"] and ms.SCHEDULED_TIME in stored["Target"]["Input"]
    run = json.loads(stored["Target"]["Input"])
    assert (run["request"], run["model"], run["capture_uri"]) == ("drift-run", "classifier", CAPTURE)
    assert (run["window_end"], run["window_hours"]) == (ms.SCHEDULED_TIME, 1)


def test_the_window_the_handler_lists_is_the_window_the_job_checks() -> None:
    event = fired_event()
    args = monitor.parse_args(event["job"]["AppSpecification"]["ContainerArguments"], env={})
    end = drift_run.parse_time(event["window_end"])
    assert end == args.end
    assert drift_run.window_hours(end, event["window_hours"]) == ["2026/11/30/03/", "2026/11/30/04/"]


def test_the_job_has_the_projects_key_and_no_network_isolation() -> None:
    """prod encrypts with its key, as the pipeline's jobs do; no job is isolated: it publishes metrics."""
    prod, dev = fired_job("prod"), fired_job("dev")
    key = load_config("prod").security.kms_key_id
    assert prod["ProcessingOutputConfig"]["KmsKeyId"] == key
    assert prod["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
    assert "KmsKeyId" not in dev["ProcessingOutputConfig"]
    models = {m: {"model_id": f"s3://stranger-things-nlp-artifacts/models/{m}/"} for m in MODEL_SECTIONS}
    models["classifier"]["serving"] = {"serverless": None}  # dev's serverless classifier cannot isolate
    isolated = load_config("dev", overrides={"security": {"network_isolation": True}, **models})
    job = ms.processing_job_request(monitoring_settings(isolated), "chatbot", IMAGE, ROLE, CODE, BASELINE)
    assert job["NetworkConfig"] == {"EnableNetworkIsolation": False}
