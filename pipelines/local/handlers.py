"""What each step type does locally, given its resolved Arguments.

- Processing / Training: a container script as a subprocess (`jobs`), outputs uploaded into the run's
  S3 folder, cached by content (`cache`).
- Condition: every condition true -> the If branch, else the Else branch (the scheduler skips the other).
- Fail: the run ends with the step's resolved ErrorMessage.
- RegisterModel: a version in the local registry, with the metrics of its ModelMetrics report.
- Model / EndpointConfig: records, as SageMaker keeps them, that the Endpoint step follows.
- Endpoint: the model of its config, unpacked once per version, deployed in the local registry.

Each handler returns an `Outcome`; the scheduler stores it. Handlers never touch the run's state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_registry.local import LocalRegistry
from model_registry.local_deploy import unpack_model
from pipelines.local.cache import StepCache, cache_key
from pipelines.local.expressions import ConditionOutcome, Scope, evaluate_condition, resolve
from pipelines.local.jobs import (
    JobPlan,
    prepare,
    processing_plan,
    run_plan,
    training_artifact_uri,
    training_job_name,
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


def _append_log(log_path: Path, text: str) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(text.rstrip("\n") + "\n")


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
    job_name = training_job_name(svc.execution["PipelineExecutionId"], name)
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
    return Outcome(SUCCEEDED, cache_state, properties, files, metrics, key=key)


def run_training(
    name: str,
    definition: dict[str, Any],
    args: dict[str, Any],
    svc: Services,
    log_path: Path,
    use_cache: bool,
) -> Outcome:
    job_name = training_job_name(svc.execution["PipelineExecutionId"], name)
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
    return Outcome(SUCCEEDED, cache_state, properties(metrics), metrics=metrics, key=key)


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


# -- registry and endpoints -------------------------------------------------------------------------


def report_metrics(report: Any) -> dict[str, float]:
    """Flatten a model-quality report: {"x_metrics": {"bleu": {"value": 1}}} -> {"bleu": 1.0}."""
    found: dict[str, float] = {}
    if not isinstance(report, dict):
        return found
    for section, body in report.items():
        if not section.endswith("_metrics") or not isinstance(body, dict):
            continue
        for metric, entry in body.items():
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[metric] = float(value)
    return found


def _statistics_uris(model_metrics: Any) -> list[str]:
    uris: list[str] = []
    if isinstance(model_metrics, dict):
        for key, value in model_metrics.items():
            if key == "S3Uri" and isinstance(value, str):
                uris.append(value)
            else:
                uris.extend(_statistics_uris(value))
    return uris


def run_register(name: str, args: dict[str, Any], svc: Services, use_cache: bool) -> Outcome:
    group = str(args["ModelPackageGroupName"])
    status = str(args.get("ModelApprovalStatus", "PendingManualApproval"))
    containers = args.get("InferenceSpecification", {}).get("Containers", [])
    if not containers:
        raise StorageError(f"{name}: InferenceSpecification has no Containers")
    container = containers[0]
    model_path = svc.storage.local_path(str(container["ModelDataUrl"]))
    if not model_path.is_file():
        raise StorageError(
            f"{name}: ModelDataUrl {container['ModelDataUrl']} has no model.tar.gz at {model_path}"
        )
    metrics: dict[str, float] = {}
    evaluation = ""
    for uri in _statistics_uris(args.get("ModelMetrics", {})):
        path = svc.storage.local_path(uri)
        if not path.is_file():
            raise StorageError(f"{name}: ModelMetrics report {uri} is missing (expected {path})")
        metrics.update(report_metrics(json.loads(path.read_text(encoding="utf-8"))))
        evaluation = evaluation or str(path)
    key = cache_key(name, "RegisterModel", args, svc.masks, svc.digest_of) if use_cache else None
    reused = _reusable_version(svc, key, group, status) if key else None
    version = reused or svc.registry.register(
        group,
        model_data_url=str(model_path),
        image_uri=str(container.get("Image", "")),
        metrics=metrics,
        evaluation_uri=evaluation,
        approval_status=status,
        environment={k: str(v) for k, v in (container.get("Environment") or {}).items()},
        description=str(args.get("ModelPackageDescription", "")),
    )
    if key is not None and svc.cache is not None and reused is None:
        svc.cache.store(key, {"step": name, "group": version.group, "version": version.version}, {})
    properties = {
        **args,
        "ModelPackageArn": version.arn,
        "ModelPackageGroupName": version.group,
        "ModelPackageVersion": version.version,
        "ModelApprovalStatus": version.status,
        "ModelPackageStatus": "Completed",
    }
    return Outcome(
        CACHED if reused else SUCCEEDED,
        ("hit" if reused else "miss") if key else "-",
        properties,
        metrics=metrics,
        key=key,
        message=f"{group} version {version.version} ({version.status})",
    )


def _reusable_version(svc: Services, key: str, group: str, status: str) -> Any:
    """The version an identical earlier registration made, while it still exists as registered."""
    if svc.cache is None:
        return None
    entry = svc.cache.lookup(key)
    if entry is None:
        return None
    try:
        version = svc.registry.get(group, int(entry["version"]))
    except KeyError:
        return None
    if version.status != status or not Path(version.model_data_url).is_file():
        return None  # reviewed since, or its files are gone: register anew
    return version


def run_model(name: str, args: dict[str, Any], svc: Services) -> Outcome:
    model_name = args.get("ModelName") or training_job_name(svc.execution["PipelineExecutionId"], name)
    return Outcome(
        SUCCEEDED, properties={**args, "ModelName": model_name, "ModelArn": arn("model", model_name)}
    )


def run_endpoint_config(name: str, args: dict[str, Any], svc: Services) -> Outcome:
    config = args.get("EndpointConfigName") or training_job_name(svc.execution["PipelineExecutionId"], name)
    return Outcome(
        SUCCEEDED,
        properties={
            **args,
            "EndpointConfigName": config,
            "EndpointConfigArn": arn("endpoint-config", config),
        },
    )


def _find(scope: Scope, marker: str, field_name: str, value: Any, what: str) -> dict[str, Any]:
    """The properties of the step of this run that created `what` (it carries `marker`)."""
    for properties in scope.steps.values():
        if marker in properties and properties.get(field_name) == value:
            return properties
    raise StorageError(f"no {what} named {value!r} was created in this run")


def _registered_version(scope: Scope, model_data_url: str) -> tuple[str, int]:
    """The group and version this run registered for a model artifact URI."""
    for properties in scope.steps.values():
        if "ModelPackageArn" not in properties:
            continue
        containers = properties.get("InferenceSpecification", {}).get("Containers", [])
        if any(c.get("ModelDataUrl") == model_data_url for c in containers):
            return str(properties["ModelPackageGroupName"]), int(properties["ModelPackageVersion"])
    raise StorageError(
        f"the endpoint's model {model_data_url} was not registered in this run: local endpoints serve "
        "registered versions (add a RegisterModel step upstream of the Model step)"
    )


def run_endpoint(name: str, args: dict[str, Any], scope: Scope, svc: Services) -> Outcome:
    endpoint = str(args["EndpointName"])
    config = _find(
        scope, "EndpointConfigArn", "EndpointConfigName", args["EndpointConfigName"], "endpoint config"
    )
    variants = config.get("ProductionVariants", [])
    if not variants:
        raise StorageError(f"endpoint config {args['EndpointConfigName']} has no ProductionVariants")
    model = _find(scope, "ModelArn", "ModelName", variants[0]["ModelName"], "model")
    model_data_url = str(model.get("PrimaryContainer", {}).get("ModelDataUrl", ""))
    group, version = _registered_version(scope, model_data_url)
    registered = svc.registry.get(group, version)
    properties = {
        **args,
        "EndpointName": endpoint,
        "EndpointArn": arn("endpoint", endpoint),
        "EndpointStatus": "InService",
    }
    if registered.status != "Approved":
        return Outcome(
            SUCCEEDED,
            properties={**properties, "EndpointStatus": "NotDeployed"},
            message=f"not deployed: {group} v{version} is {registered.status}; approving it deploys it",
        )
    # The layout and unpacking of the registry's own deployer: approval and the pipeline agree.
    model_dir = unpack_model(Path(registered.model_data_url), svc.models_dir / group / f"v{version}")
    live = svc.registry.endpoint(endpoint)
    if (
        live is not None
        and (live.group, live.version) == (group, version)
        and live.model_dir == model_dir.resolve()
    ):
        return Outcome(CACHED, "hit", properties, message=f"{endpoint} already serves {group} v{version}")
    svc.registry.deploy(endpoint, group, version, model_dir)
    return Outcome(SUCCEEDED, "miss", properties, message=f"{endpoint} serves {group} v{version}")
