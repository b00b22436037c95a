"""Processing and Training steps: a container job each, with one cache path for both (`run_job`).

A job handler describes its job as a `Job` (the plan from `container`, the folders that hold its
results, the properties SageMaker would report) and hands it to `run_job`, which looks the step up in
the cache and restores its results on a hit, or runs the job, uploads what it wrote and stores the
results on a miss. A new job step type (Transform, Tuning) is one more such handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.cache import StepCache
from pipelines.local.container import processing_plan, training_artifact_uri, training_plan
from pipelines.local.handlers import Outcome, StepCall, arn
from pipelines.local.processes import JobPlan, deliver, prepare, run_plan, save_checkpoints
from pipelines.local.state import CACHED, FAILED, STOPPED, SUCCEEDED
from pipelines.local.storage import RunStorage, StorageError, fresh_dir


@dataclass
class Job:
    """What a job step runs, and what of it the step cache keeps."""

    plan: JobPlan
    what: str  # "processing job": names the job in a failure message
    inputs: list[str]  # URIs whose content the cache key covers
    # label -> folder holding part of the step's result: snapshotted into the cache on success and
    # restored from it on a hit, so the steps downstream cannot tell a hit from a fresh run.
    results: dict[str, Path]
    properties: Callable[[dict[str, float]], dict[str, Any]]  # the Describe*Job answer, given the metrics
    property_files: dict[str, str] = field(default_factory=dict)


def reuse_log(cache: StepCache, key: str, log_path: Path) -> None:
    """The step's log on a cache hit: a header, then the log of the run that made the outputs."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cached = cache.log_file(key)
    header = (
        f"[local runner] cache hit {key[:12]}: outputs reused; the log of the run that made them follows\n"
    )
    body = cached.read_text(encoding="utf-8", errors="replace") if cached.is_file() else ""
    log_path.write_text(header + body, encoding="utf-8")


def run_job(call: StepCall, job: Job) -> Outcome:
    """Restore the job's results from the cache, or run it, upload its outputs and cache its results."""
    svc = call.services
    key = call.cache_key(job.inputs)
    data = svc.data_digests(job.inputs)
    if key is not None and svc.cache is not None:
        entry = svc.cache.lookup(key, call.expire_after)
        if entry is not None:
            for label, folder in job.results.items():
                svc.cache.restore(key, label, fresh_dir(folder))
            reuse_log(svc.cache, key, call.log_path)
            metrics = entry.get("metrics", {})
            return Outcome(
                CACHED, "hit", job.properties(metrics), job.property_files, metrics, key=key, data_inputs=data
            )
    prepare(job.plan, svc.storage.step_dir(call.name), svc.storage)
    result = run_plan(job.plan, call.log_path, svc.jobs)
    save_checkpoints(job.plan, svc.storage)  # also after a stop: a resumed training job continues
    cache_state = "miss" if key else "off"
    if result.stopped:
        return Outcome(STOPPED, cache_state, metrics=result.metrics, message=f"{job.what} {result.message}")
    if result.returncode != 0:
        message = f"{job.what} {result.message}"
        return Outcome(FAILED, cache_state, metrics=result.metrics, message=message, key=key)
    deliver(job.plan, svc.storage)
    if key is not None and svc.cache is not None:
        entry = {"step": call.name, "execution": svc.execution, "metrics": result.metrics}
        svc.cache.store(key, entry, job.results, call.log_path)
    return Outcome(
        SUCCEEDED,
        cache_state,
        job.properties(result.metrics),
        job.property_files,
        result.metrics,
        message=result.message,
        key=key,
        data_inputs=data,
    )


# -- Processing -------------------------------------------------------------------------------------


def property_files(definition: dict[str, Any], args: dict[str, Any], storage: RunStorage) -> dict[str, str]:
    """Where each PropertyFile of a Processing step lives: its output's folder + FilePath."""
    outputs = {
        o["OutputName"]: str(o["S3Output"]["S3Uri"]) for o in args["ProcessingOutputConfig"]["Outputs"]
    }
    found: dict[str, str] = {}
    for spec in definition.get("PropertyFiles", []):
        output = spec["OutputName"]
        if output not in outputs:
            raise StorageError(f"property file {spec['PropertyFileName']} names unknown output {output!r}")
        found[spec["PropertyFileName"]] = str(storage.local_path(outputs[output]) / spec["FilePath"])
    return found


def run_processing(call: StepCall) -> Outcome:
    args, storage = call.args, call.services.storage
    job_name = call.job_name
    properties = {
        **args,
        "ProcessingJobName": job_name,
        "ProcessingJobArn": arn("processing-job", job_name),
        "ProcessingJobStatus": "Completed",
    }
    outputs = args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    job = Job(
        plan=processing_plan(call.name, args, storage, call.services.locate),
        what="processing job",
        inputs=[str(i["S3Input"]["S3Uri"]) for i in args.get("ProcessingInputs", [])],
        results={
            f"output:{o['OutputName']}": storage.local_path(str(o["S3Output"]["S3Uri"])) for o in outputs
        },
        properties=lambda _metrics: properties,
        property_files=property_files(call.definition, args, storage),
    )
    return run_job(call, job)


# -- Training ---------------------------------------------------------------------------------------

# Where a training job writes (left out of its cache key): its Training row and the tuning trials' kind.
TRAINING_DESTINATIONS = ("OutputDataConfig.S3OutputPath", "CheckpointConfig.S3Uri")


def run_training(call: StepCall) -> Outcome:
    args, storage = call.args, call.services.storage
    job_name = call.job_name
    artifacts_uri = training_artifact_uri(args, job_name)

    def properties(metrics: dict[str, float]) -> dict[str, Any]:
        return {
            **args,
            "TrainingJobName": job_name,
            "TrainingJobArn": arn("training-job", job_name),
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "ModelArtifacts": {"S3ModelArtifacts": artifacts_uri},
            "FinalMetricDataList": [{"MetricName": k, "Value": v} for k, v in sorted(metrics.items())],
        }

    job = Job(
        plan=training_plan(call.name, args, storage, call.services.locate, job_name),
        what="training job",
        inputs=[str(c["DataSource"]["S3DataSource"]["S3Uri"]) for c in args.get("InputDataConfig", [])],
        results={"artifacts": storage.local_path(artifacts_uri).parent},
        properties=properties,
    )
    return run_job(call, job)
