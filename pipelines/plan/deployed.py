"""The SageMaker side of the plan, read-only: the deployed definition (DescribePipeline), its last
execution (durations, which steps it completed, the data fingerprints it computed) and the input data
as S3 lists it now.

The service's fingerprint is a SHA-256 of the files' bytes, which a listing cannot reproduce without
reading every object. A folder is therefore taken as unchanged when S3 lists the same number of objects
and bytes as the last execution's fingerprint.json recorded and none modified since that execution
started; otherwise its new fingerprint is a hash of the listing (keys, ETags, sizes), so it differs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipelines.plan.cache_plan import Execution

LOG = logging.getLogger(__name__)
FINGERPRINT_STEP = "FingerprintData"


@dataclass(frozen=True)
class LastExecution:
    started: datetime | None
    completed: frozenset[str]
    durations: dict[str, float]
    folders: dict[str, dict[str, Any]] | None  # fingerprint.json's "folders", when it could be read


def deployed_definition(sm: Any, name: str) -> dict[str, Any] | None:
    """The deployed pipeline's definition, or None when no pipeline of that name exists."""
    try:
        described = sm.describe_pipeline(PipelineName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("ResourceNotFound", "ValidationException"):
            return None
        raise
    return json.loads(described["PipelineDefinition"])


def last_execution(sm: Any, s3: Any, name: str) -> LastExecution | None:
    """The newest execution's step records; None when the pipeline never ran."""
    listed = sm.list_pipeline_executions(PipelineName=name, SortBy="CreationTime", SortOrder="Descending")
    summaries = listed.get("PipelineExecutionSummaries", [])
    if not summaries:
        return None
    arn = summaries[0]["PipelineExecutionArn"]
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=arn).get("PipelineExecutionSteps", [])
    completed = frozenset(s["StepName"] for s in steps if s.get("StepStatus") == "Succeeded")
    durations = {
        s["StepName"]: (s["EndTime"] - s["StartTime"]).total_seconds()
        for s in steps
        if s.get("StartTime") and s.get("EndTime") and not s.get("CacheHitResult")
    }
    folders = None
    for step in steps:
        job = step.get("Metadata", {}).get("ProcessingJob", {}).get("Arn")
        if step["StepName"] == FINGERPRINT_STEP and job:
            folders = _fingerprint_folders(sm, s3, job.rsplit("/", 1)[-1])
    return LastExecution(summaries[0].get("StartTime"), completed, durations, folders)


def _fingerprint_folders(sm: Any, s3: Any, job_name: str) -> dict[str, dict[str, Any]] | None:
    try:
        job = sm.describe_processing_job(ProcessingJobName=job_name)
        uri = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"].rstrip("/")
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = s3.get_object(Bucket=bucket, Key=f"{key}/fingerprint.json")["Body"].read()
        return dict(json.loads(body)["folders"])
    except (ClientError, BotoCoreError, KeyError, IndexError, ValueError) as exc:
        LOG.warning("the last execution's fingerprint.json could not be read (%s)", exc)
        return None


def s3_fingerprints(
    s3: Any, data_uri: str, folders: tuple[str, ...], last: LastExecution | None
) -> dict[str, str]:
    """Each folder's fingerprint for the next execution, from the S3 listing (see the module docstring)."""
    bucket, _, prefix = data_uri.removeprefix("s3://").partition("/")
    found: dict[str, str] = {}
    for folder in folders:
        objects = _listing(s3, bucket, f"{prefix.rstrip('/')}/{folder}/")
        recorded = (last.folders or {}).get(folder) if last else None
        same = (
            recorded is not None
            and last is not None
            and last.started is not None
            and len(objects) == recorded.get("files")
            and sum(o["Size"] for o in objects) == recorded.get("bytes")
            and all(o["LastModified"] <= last.started for o in objects)
        )
        if same and recorded is not None:
            found[folder] = str(recorded["sha256"])
        else:
            digest = hashlib.sha256()
            for o in sorted(objects, key=lambda o: o["Key"]):
                digest.update(f"{o['Key']}\0{o['ETag']}\0{o['Size']}\n".encode())
            found[folder] = "listing:" + digest.hexdigest()
    return found


def _listing(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        objects.extend(page.get("Contents", []))
    return objects


def previous_execution(definition: Mapping[str, Any], last: LastExecution | None) -> Execution:
    """The deployed pipeline as the baseline: its definition, its defaults, its last run's data."""
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
    fingerprints = None
    if last is not None and last.folders is not None:
        fingerprints = {name: str(part["sha256"]) for name, part in last.folders.items()}
    return Execution(
        definition,
        parameters,
        fingerprints,
        completed=last.completed if last is not None else None,
        durations=last.durations if last is not None else {},
    )
