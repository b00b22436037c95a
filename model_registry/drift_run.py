"""One firing of a drift schedule: list the window's capture, write a manifest, start the monitoring job.

The drift schedule (model_registry/monitoring_schedule.py) invokes the deploy handler with

    {"request": "drift-run", "model": "chatbot", "capture_uri": "s3://<bucket>/.../<endpoint>/AllTraffic/",
     "window_end": "<aws.scheduler.scheduled-time>", "window_hours": 1, "job": {CreateProcessingJob}}

with the Scheduler's context attributes already substituted ("Adding context attributes in EventBridge
Scheduler": the keywords are replaced in the payload the target receives). The job's capture input is
a ManifestFile whose S3Uri this module writes before it calls CreateProcessingJob, so the job copies
the window's hours only, however long the endpoint has been capturing.

Why not a fixed input: a schedule's target is fixed when the schedule is written, while the window
rolls; an S3Prefix input names one prefix, and the hours of a window (crossing a day at midnight) share
none narrower than the endpoint's whole capture. Hence a manifest, written per firing.

The AWS rules relied on:
- capture layout: `<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`, hour folders in UTC
  ("Capture data from real-time endpoint", https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html);
- ProcessingS3Input S3DataType ManifestFile: "S3Uri identifies an object that is a manifest file
  containing a list of object keys" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html);
- the manifest's format: a JSON array whose first element is `{"prefix": "s3://bucket/some/prefix/"}`,
  followed by keys relative to it; "the prefix must be a valid non-empty S3Uri", so one manifest reads
  from one bucket (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html).
  `manifest_body` refuses anything else (ManifestError) rather than let CreateProcessingJob fail later.

A window with no capture starts no job: an hour without traffic has nothing to compare, and the
violation alarms treat missing data as not breaching (infra/templates/operations.yaml).

Stdlib and the clients passed in: this module travels in the deploy handler's bundle.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

LOG = logging.getLogger(__name__)

DRIFT_RUN = "drift-run"
CAPTURE_INPUT = "endpoint"  # the job's ProcessingInput that reads the capture (monitoring_schedule.py)


class ManifestError(ValueError):
    """A manifest SageMaker would not accept, or a drift-run event that cannot make one."""


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ManifestError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ManifestError(f"{uri!r} names no bucket")
    return bucket, key


def parse_time(value: str) -> datetime:
    """The Scheduler's scheduled-time (`2022-03-22T18:59:43Z`) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ManifestError(f"window_end {value!r} is not an ISO time like 2026-11-30T04:15:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def window_hours(end: datetime, hours: int) -> list[str]:
    """The `yyyy/mm/dd/hh/` folders that overlap [end - hours, end), oldest first.

    The same hours the monitoring job reads (containers/monitoring/capture.py capture_files: a folder
    counts when its hour overlaps the window), so the job sees every file it would have picked itself.
    """
    if hours < 1:
        raise ManifestError(f"window_hours {hours} must be at least 1")
    end = end.astimezone(UTC)
    hour = (end - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    folders = []
    while hour < end:
        folders.append(f"{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return folders


def list_window(s3: Any, capture_uri: str, folders: list[str]) -> list[str]:
    """Keys under `capture_uri` in the given hour folders, relative to it (ListObjectsV2 per hour)."""
    bucket, prefix = _split(capture_uri)
    found: list[str] = []
    for folder in folders:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + folder)
        for page in pages:
            found += [item["Key"].removeprefix(prefix) for item in page.get("Contents", [])]
    return sorted(key for key in found if not key.endswith("/"))


def manifest_body(capture_uri: str, keys: list[str]) -> list[Any]:
    """The manifest: `{"prefix": capture_uri}` then each key relative to it (API_S3DataSource's format)."""
    _split(capture_uri)
    if not capture_uri.endswith("/"):
        raise ManifestError(f"the manifest prefix {capture_uri!r} must be a folder (end with '/')")
    if not keys:
        raise ManifestError(f"no keys under {capture_uri}: a manifest lists at least one object")
    absolute = [k for k in keys if k.startswith(("/", "s3://"))]
    if absolute:
        raise ManifestError(f"manifest entries are relative to the prefix, not {absolute[0]!r}")
    return [{"prefix": capture_uri}, *keys]


def _capture_input(job: dict[str, Any]) -> dict[str, Any]:
    for item in job.get("ProcessingInputs", []):
        if item.get("InputName") == CAPTURE_INPUT:
            s3_input = item["S3Input"]
            if s3_input.get("S3DataType") != "ManifestFile":
                raise ManifestError(f"the job's {CAPTURE_INPUT!r} input must be a ManifestFile input")
            return s3_input
    raise ManifestError(f"the job has no {CAPTURE_INPUT!r} input to write a manifest for")


def _field(event: dict[str, Any], name: str, kind: type) -> Any:
    value = event.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or not value:
        raise ManifestError(f"{DRIFT_RUN!r} event lacks {name!r} (a non-empty {kind.__name__})")
    return value


def start_drift_job(s3: Any, sagemaker: Any, event: dict[str, Any]) -> dict[str, Any]:
    """List the window, write its manifest where the job's capture input points, start the job.

    Returns what it did: {"action": "started", "job", "manifest", "files"} or {"action": "skipped",
    "reason"} for a window without capture.
    """
    capture_uri = _field(event, "capture_uri", str)
    end = parse_time(_field(event, "window_end", str))
    job = _field(event, "job", dict)
    folders = window_hours(end, _field(event, "window_hours", int))
    keys = list_window(s3, capture_uri, folders)
    name = job.get("ProcessingJobName", "?")
    if not keys:
        LOG.info("%s: no capture in %s..%s: no monitoring job", name, folders[0], folders[-1])
        return {"action": "skipped", "reason": f"no capture under {capture_uri} in {', '.join(folders)}"}
    target = _capture_input(job)
    body = json.dumps(manifest_body(capture_uri, keys), indent=0).encode()
    bucket, key = _split(target["S3Uri"])
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    try:
        sagemaker.create_processing_job(**job)
    except Exception as exc:
        if _error_code(exc) != "ResourceInUse":
            raise
        # A retry of a firing that already started its job (Lambda retries an asynchronous invocation
        # with the same event, and the job name carries the Scheduler's execution id): the job exists, so
        # this firing's work is done. CreateProcessingJob answers a taken name with ResourceInUse
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateProcessingJob.html, Errors).
        LOG.info("%s already exists: a retry of a firing that started it; nothing to do", name)
        return {"action": "already-started", "job": name, "manifest": target["S3Uri"], "files": len(keys)}
    LOG.info("started %s on %d capture files (manifest %s)", name, len(keys), target["S3Uri"])
    return {"action": "started", "job": name, "manifest": target["S3Uri"], "files": len(keys)}


def _error_code(exc: Exception) -> str | None:
    """botocore's ClientError code, read without importing botocore (this module ships stdlib-only)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
