"""A drift schedule's firing (model_registry/drift_run.py) under moto: the window's capture only, listed
into a manifest that the started job reads through a ManifestFile input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from conf.schema import Config
from containers.monitoring.capture import capture_files
from model_registry import drift_run, lambda_handler
from model_registry import monitoring_schedule as ms
from model_registry.settings import handler_settings, monitoring_settings
from tests.model_registry.conftest import BUCKET, MONITOR_IMAGE

pytestmark = pytest.mark.aws

ENDPOINT = "stranger-things-nlp-dev-chatbot"
CAPTURE_KEY = f"stranger-things-nlp/dev/data-capture/chatbot/{ENDPOINT}/AllTraffic/"
CAPTURE = f"s3://{BUCKET}/{CAPTURE_KEY}"
BASELINE = f"s3://{BUCKET}/stranger-things-nlp/dev/runs/x/ComputeChatbotBaseline/baseline/"
CODE = f"s3://{BUCKET}/stranger-things-nlp/code/0123456789ab/"
EXECUTION = "0f8fad5b-d9cb-469f-a165-70867728950e"
# A two-hour window that crosses midnight: 22:15 on 30 November to 00:15 on 1 December (UTC).
FIRED_AT = "2026-12-01T00:15:00Z"
INSIDE = [
    "2026/11/30/22/15-02-aaa.jsonl",
    "2026/11/30/23/00-41-aaa.jsonl",
    "2026/11/30/23/31-07-bbb.jsonl",
    "2026/12/01/00/03-19-aaa.jsonl",
]
OUTSIDE = [
    f"{CAPTURE_KEY}2026/11/30/21/59-59-aaa.jsonl",  # the hour before the window
    f"{CAPTURE_KEY}2026/12/01/01/00-00-aaa.jsonl",  # the hour after the firing
    f"{CAPTURE_KEY}2026/11/29/23/10-00-aaa.jsonl",  # the same hour, a day earlier
    f"stranger-things-nlp/dev/data-capture/chatbot/{ENDPOINT}/Challenger/2026/11/30/23/00-00-c.jsonl",
]


def fired_event(cfg: Config, model: str = "chatbot", window_hours: int = 2) -> dict[str, Any]:
    """The event the Scheduler delivers to the handler: the stored Input with its context attributes."""
    monitoring = replace(monitoring_settings(cfg), window_hours=window_hours)
    request = ms.schedule_request(
        monitoring, model, MONITOR_IMAGE, cfg.project.role_arn, monitoring.scheduler_role_arn, CODE, CAPTURE,
        BASELINE,
    )  # fmt: skip
    text = request["Target"]["Input"]
    text = text.replace(ms.EXECUTION_ID, EXECUTION).replace(ms.SCHEDULED_TIME, FIRED_AT)
    return json.loads(text)


@pytest.fixture
def captured(aws: boto3.session.Session) -> boto3.session.Session:
    s3 = aws.client("s3")
    for key in [CAPTURE_KEY + k for k in INSIDE] + OUTSIDE:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}\n")
    return aws


def test_the_window_hours_cross_midnight() -> None:
    end = datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
    assert drift_run.window_hours(end, 2) == ["2026/11/30/22/", "2026/11/30/23/", "2026/12/01/00/"]
    # A firing on the hour: the window's last folder is the hour before it.
    assert drift_run.window_hours(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), 1) == ["2026/11/30/23/"]


def test_a_firing_lists_the_window_writes_its_manifest_and_starts_the_job(captured, dev_cfg) -> None:
    event = fired_event(dev_cfg)
    out = drift_run.start_drift_job(captured.client("s3"), captured.client("sagemaker"), event)

    manifest_key = f"stranger-things-nlp/dev/monitoring/manifests/{ENDPOINT}/{EXECUTION}.json"
    assert out == {
        "action": "started",
        "job": f"dev-chatbot-drift-{EXECUTION}",
        "manifest": f"s3://{BUCKET}/{manifest_key}",
        "files": 4,
    }
    body = captured.client("s3").get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read()
    assert json.loads(body) == [{"prefix": CAPTURE}, *INSIDE]

    job = captured.client("sagemaker").describe_processing_job(ProcessingJobName=out["job"])
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["endpoint"]["S3DataType"] == "ManifestFile"
    assert inputs["endpoint"]["S3Uri"] == out["manifest"]
    assert inputs["endpoint"]["LocalPath"] == ms.CAPTURE_PATH
    assert (inputs["baseline"]["S3DataType"], inputs["code"]["S3DataType"]) == ("S3Prefix", "S3Prefix")
    args = job["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--end") + 1] == FIRED_AT and args[args.index("--window-hours") + 1] == "2"


def test_the_manifest_lists_what_the_job_itself_would_read(captured, dev_cfg, tmp_path: Path) -> None:
    """The handler's hours are the job's: a copy of the whole capture, filtered by the job's own
    capture_files for the same window, is exactly the manifest's list."""
    s3 = captured.client("s3")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=CAPTURE_KEY)["Contents"]:
        path = tmp_path / item["Key"].removeprefix(CAPTURE_KEY)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    start, end = datetime(2026, 11, 30, 22, 15, tzinfo=UTC), datetime(2026, 12, 1, 0, 15, tzinfo=UTC)
    mine = [p.relative_to(tmp_path).as_posix() for p in capture_files(tmp_path, start, end)]
    listed = drift_run.list_window(s3, CAPTURE, drift_run.window_hours(end, 2))
    assert listed == mine == INSIDE


def test_a_window_without_capture_starts_no_job_and_writes_no_manifest(aws, dev_cfg) -> None:
    out = drift_run.start_drift_job(aws.client("s3"), aws.client("sagemaker"), fired_event(dev_cfg))
    assert out["action"] == "skipped" and "2026/11/30/22/, 2026/11/30/23/, 2026/12/01/00/" in out["reason"]
    assert aws.client("sagemaker").list_processing_jobs()["ProcessingJobSummaries"] == []
    manifests = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="stranger-things-nlp/dev/monitoring/")
    assert manifests.get("KeyCount", 0) == 0


def test_the_handler_routes_a_firing_to_the_drift_run(captured, dev_cfg, monkeypatch) -> None:
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    out = lambda_handler.handler(fired_event(dev_cfg), None)
    assert out["action"] == "started" and out["files"] == 4


@pytest.mark.parametrize(
    ("prefix", "keys", "message"),
    [
        ("stranger-things-nlp/capture/", ["a.jsonl"], "not an s3:// URI"),
        (f"s3://{BUCKET}/capture", ["a.jsonl"], "must be a folder"),
        (f"s3://{BUCKET}/capture/", [], "at least one object"),
        (f"s3://{BUCKET}/capture/", ["s3://other-bucket/a.jsonl"], "relative to the prefix"),
        ("s3:///capture/", ["a.jsonl"], "names no bucket"),
    ],
)
def test_a_manifest_sagemaker_would_refuse_is_refused(prefix: str, keys: list[str], message: str) -> None:
    with pytest.raises(drift_run.ManifestError, match=message):
        drift_run.manifest_body(prefix, keys)


def test_an_event_without_a_window_end_names_the_field(dev_cfg) -> None:
    event = fired_event(dev_cfg)
    del event["window_end"]
    with pytest.raises(drift_run.ManifestError, match="lacks 'window_end'"):
        drift_run.start_drift_job(None, None, event)


def test_a_retried_firing_whose_job_exists_is_done_and_other_errors_still_raise(captured, dev_cfg) -> None:
    """Lambda retries an asynchronous invocation with the same event: the job name (execution id) is taken."""
    from botocore.exceptions import ClientError

    class Answers:
        def __init__(self, code: str) -> None:
            self.code, self.calls = code, 0

        def create_processing_job(self, **request: Any) -> None:
            self.calls += 1
            error = {"Error": {"Code": self.code, "Message": "Resource being accessed is in use."}}
            raise ClientError(error, "CreateProcessingJob")

    event = fired_event(dev_cfg)
    taken = Answers("ResourceInUse")
    out = drift_run.start_drift_job(captured.client("s3"), taken, event)
    assert out["action"] == "already-started" and out["job"] == f"dev-chatbot-drift-{EXECUTION}"
    assert taken.calls == 1

    with pytest.raises(ClientError, match="ResourceLimitExceeded"):
        drift_run.start_drift_job(captured.client("s3"), Answers("ResourceLimitExceeded"), event)
