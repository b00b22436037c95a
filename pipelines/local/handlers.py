"""What each step type does locally, given its resolved Arguments.

- Processing / Training: a container script as a subprocess (`jobs`), outputs uploaded into the run's
  S3 folder, cached by content (`cache`).
- Condition: every condition true -> the If branch, else the Else branch (the scheduler skips the other).
- Fail: the run ends with the step's resolved ErrorMessage.
- RegisterModel, Model, EndpointConfig, Endpoint: see `registry_steps`.

Each handler returns an `Outcome`; the scheduler stores it. Handlers never touch the run's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_registry.local import LocalRegistry
from pipelines.local.cache import StepCache, cache_key
from pipelines.local.expressions import ConditionOutcome, Scope, evaluate_condition, resolve
from pipelines.local.jobs import (
    JobPlan,
    prepare,
    processing_plan,
    run_plan,
    sagemaker_job_name,
    training_artifact_uri,
    training_plan,
)
from pipelines.local.sources import Source, find_source
from pipelines.local.state import CACHED, FAILED, SUCCEEDED
from pipelines.local.storage import Digests, RunStorage, StorageError, copy_into, fresh_dir

LOCAL_ACCOUNT = "arn:aws:sagemaker:local:000000000000"


@dataclass
class Outcome:
    """The result of one step, as the scheduler records it."""

    status: str
    cache: str = "-"
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    key: str | None = None
    decision: dict[str, Any] | None = None


@dataclass
class Services:
    """What handlers share: the run's storage, the cache (None when off), the registry."""

    storage: RunStorage
    repo_root: Path
    cache: StepCache | None
    registry: LocalRegistry
    models_dir: Path
    execution: dict[str, str]
    digests: Digests = field(default_factory=Digests)

    @property
    def masks(self) -> dict[str, str]:
        """Run-specific strings and the names they take in cache keys."""
        return {value: "{" + name + "}" for name, value in self.execution.items() if len(value) >= 6}

    def locate(self, uri: str) -> Source:
        return find_source(uri, self.storage, self.repo_root)

    def digest_of(self, uri: str) -> str:
        try:
            return self.locate(uri).digest(self.digests)
        except StorageError:
            return "missing"


def arn(kind: str, name: str) -> str:
    return f"{LOCAL_ACCOUNT}:{kind}/{name}"


def _reuse_log(cache: StepCache, key: str, log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cached = cache.log_file(key)
    header = (
        f"[local runner] cache hit {key[:12]}: outputs reused; the log of the run that made them follows\n"
    )
    body = cached.read_text(encoding="utf-8", errors="replace") if cached.is_file() else ""
    log_path.write_text(header + body, encoding="utf-8")


# -- Processing and Training ------------------------------------------------------------------------


def _expiry(definition: dict[str, Any]) -> str | None:
    return definition.get("CacheConfig", {}).get("ExpireAfter")


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


def _processing_outputs(args: dict[str, Any]) -> dict[str, str]:
    return {
        f"output:{o['OutputName']}": str(o["S3Output"]["S3Uri"])
        for o in args.get("ProcessingOutputConfig", {}).get("Outputs", [])
    }


def _run_job(name: str, plan: JobPlan, svc: Services, log_path: Path) -> tuple[int, str, dict[str, float]]:
    prepare(plan, svc.storage.step_dir(name))
    result = run_plan(plan, log_path)
    return result.returncode, result.message, result.metrics


def run_processing(
    name: str,
    definition: dict[str, Any],
    args: dict[str, Any],
    svc: Services,
    log_path: Path,
    use_cache: bool,
) -> Outcome:
    job_name = sagemaker_job_name(svc.execution["PipelineExecutionId"], name)
    plan = processing_plan(name, args, svc.storage, svc.locate)
    outputs = _processing_outputs(args)
    properties = {
        **args,
        "ProcessingJobName": job_name,
        "ProcessingJobArn": arn("processing-job", job_name),
        "ProcessingJobStatus": "Completed",
    }
    files = property_files(definition, args, svc.storage)
    input_uris = [str(i["S3Input"]["S3Uri"]) for i in args.get("ProcessingInputs", [])]
    key = cache_key(name, "Processing", args, svc.masks, svc.digest_of, input_uris) if use_cache else None
    if (
        key is not None
        and svc.cache is not None
        and (entry := svc.cache.lookup(key, _expiry(definition))) is not None
    ):
        for label, uri in outputs.items():
            svc.cache.restore(key, label, fresh_dir(svc.storage.local_path(uri)))
        _reuse_log(svc.cache, key, log_path)
        return Outcome(CACHED, "hit", properties, files, entry.get("metrics", {}), key=key)
    returncode, message, metrics = _run_job(name, plan, svc, log_path)
    cache_state = "miss" if key else "off"
    if returncode != 0:
        return Outcome(FAILED, cache_state, message=f"processing job {message}", key=key)
    for local, uri in plan.outputs:
        copy_into(local, fresh_dir(svc.storage.local_path(uri)))
    if key is not None and svc.cache is not None:
        snapshots = {label: svc.storage.local_path(uri) for label, uri in outputs.items()}
        svc.cache.store(
            key, {"step": name, "execution": svc.execution, "metrics": metrics}, snapshots, log_path
        )
    return Outcome(SUCCEEDED, cache_state, properties, files, metrics, message=message, key=key)


def run_training(
    name: str,
    definition: dict[str, Any],
    args: dict[str, Any],
    svc: Services,
    log_path: Path,
    use_cache: bool,
) -> Outcome:
    job_name = sagemaker_job_name(svc.execution["PipelineExecutionId"], name)
    plan = training_plan(name, args, svc.storage, svc.locate, job_name)
    artifacts_uri = training_artifact_uri(args, job_name)
    artifact_dir = svc.storage.local_path(artifacts_uri).parent
    channel_uris = [str(c["DataSource"]["S3DataSource"]["S3Uri"]) for c in args.get("InputDataConfig", [])]
    key = cache_key(name, "Training", args, svc.masks, svc.digest_of, channel_uris) if use_cache else None

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

    if (
        key is not None
        and svc.cache is not None
        and (entry := svc.cache.lookup(key, _expiry(definition))) is not None
    ):
        svc.cache.restore(key, "artifacts", fresh_dir(artifact_dir))
        _reuse_log(svc.cache, key, log_path)
        metrics = entry.get("metrics", {})
        return Outcome(CACHED, "hit", properties(metrics), metrics=metrics, key=key)
    returncode, message, metrics = _run_job(name, plan, svc, log_path)
    for local, uri in plan.outputs:  # checkpoints are kept even when the job fails: a retry resumes
        if local.is_dir() and any(local.iterdir()):
            copy_into(local, fresh_dir(svc.storage.local_path(uri)))
    cache_state = "miss" if key else "off"
    if returncode != 0:
        return Outcome(FAILED, cache_state, metrics=metrics, message=f"training job {message}", key=key)
    fresh_dir(artifact_dir)
    assert plan.pack is not None
    plan.pack()
    if key is not None and svc.cache is not None:
        svc.cache.store(
            key,
            {"step": name, "execution": svc.execution, "metrics": metrics},
            {"artifacts": artifact_dir},
            log_path,
        )
    return Outcome(SUCCEEDED, cache_state, properties(metrics), metrics=metrics, message=message, key=key)


# -- Condition and Fail -----------------------------------------------------------------------------


def run_condition(args: dict[str, Any], scope: Scope) -> Outcome:
    """All conditions true -> 'if' (SageMaker ANDs the list)."""
    outcomes: list[ConditionOutcome] = [evaluate_condition(c, scope) for c in args.get("Conditions", [])]
    result = all(o.value for o in outcomes)
    decision = {
        "outcomes": [{"condition": o.text, "value": o.value} for o in outcomes],
        "branch": "if" if result else "else",
    }
    return Outcome(SUCCEEDED, properties={"Outcome": "True" if result else "False"}, decision=decision)


def run_fail(args: dict[str, Any], scope: Scope) -> Outcome:
    message = resolve(args.get("ErrorMessage", ""), scope)
    return Outcome(FAILED, message=str(message) or "the pipeline reached a Fail step")
