"""The registry and endpoint steps: RegisterModel, Model, EndpointConfig, Endpoint, locally.

- RegisterModel: a version in the local registry (`model_registry.local`), with the metrics of its
  ModelMetrics report; an identical registration (same model and report content, same requested
  status) reuses the version it made instead of adding a duplicate, with the review it got since (a
  rejected model is not registered again as a new approved version).
  The request's ModelCard is kept with the version (and as text under <home>/model-cards/).
- Model / EndpointConfig: records, as SageMaker keeps them, that the Endpoint step follows.
- Endpoint: the model behind its config, unpacked as the registry's own deployer unpacks it, deployed
  to the local endpoint of that name. Only Approved versions go live (the registry's rule); a version
  pending review is registered but not deployed, and the step says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model_registry.cards import InvalidModelCard
from model_registry.local_deploy import unpack_model
from model_registry.metrics import metrics_from_report
from pipelines.local.expressions import Scope
from pipelines.local.handlers import Outcome, Services, StepCall, arn
from pipelines.local.outputs import CARD_PROPERTY
from pipelines.local.state import CACHED, SUCCEEDED
from pipelines.local.storage import StorageError


def report_metrics(path: Path, uri: str) -> dict[str, float]:
    """The metrics of a ModelMetrics report, read with the registry's own reader of the report schema."""
    try:
        return metrics_from_report(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, AttributeError) as exc:  # not JSON, not an object, or no metric in it
        raise StorageError(f"ModelMetrics report {uri} ({path}) is not an evaluation report: {exc}") from exc


def _statistics_uris(model_metrics: Any) -> list[str]:
    uris: list[str] = []
    if isinstance(model_metrics, dict):
        for key, value in model_metrics.items():
            if key == "S3Uri" and isinstance(value, str):
                uris.append(value)
            else:
                uris.extend(_statistics_uris(value))
    return uris


def run_register(call: StepCall) -> Outcome:
    name, args, svc = call.name, call.args, call.services
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
        metrics.update(report_metrics(path, uri))
        evaluation = evaluation or str(path)
    # The drift baselines the version carries must exist, as SageMaker would need to read them later.
    for uri in _statistics_uris(args.get("DriftCheckBaselines", {})):
        path = svc.storage.local_path(uri)
        if not path.is_file():
            raise StorageError(f"{name}: DriftCheckBaselines file {uri} is missing (expected {path})")
    key = call.cache_key()
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
    card = _keep_card(name, args, svc, version.group, version.version, reused is not None)
    properties = {
        **args,
        "ModelPackageArn": version.arn,
        "ModelPackageGroupName": version.group,
        "ModelPackageVersion": version.version,
        "ModelApprovalStatus": version.status,
        "ModelPackageStatus": "Completed",
        **({CARD_PROPERTY: str(card)} if card is not None else {}),
    }
    return Outcome(
        CACHED if reused else SUCCEEDED,
        ("hit" if reused else "miss") if key else "-",
        properties,
        metrics=metrics,
        key=key,
        message=f"{group} version {version.version} ({version.status})",
    )


def _keep_card(
    name: str, args: dict[str, Any], svc: Services, group: str, version: int, reused: bool
) -> Path | None:
    """Store the request's ModelCard with the version (as CreateModelPackage does); its text file's path."""
    card = args.get("ModelCard")
    if not card:
        return None
    path = svc.registry.card_path(group, version)
    if reused and svc.registry.card(group, version) is not None:
        return path
    try:
        return svc.registry.set_card(
            group, version, str(card["ModelCardContent"]), str(card.get("ModelCardStatus", "Draft"))
        )
    except InvalidModelCard as exc:
        raise StorageError(f"{name}: ModelCard is not a valid model card: {exc}") from exc


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
    if not Path(version.model_data_url).is_file():
        return None  # its files are gone: register anew
    # Reviewed since (approved or rejected): the review stands; a rejected model stays rejected.
    return version


def run_model(call: StepCall) -> Outcome:
    args = call.args
    model_name = args.get("ModelName") or call.job_name
    return Outcome(
        SUCCEEDED, properties={**args, "ModelName": model_name, "ModelArn": arn("model", model_name)}
    )


def run_endpoint_config(call: StepCall) -> Outcome:
    args = call.args
    config = args.get("EndpointConfigName") or call.job_name
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


def run_endpoint(call: StepCall) -> Outcome:
    args, scope, svc = call.args, call.scope, call.services
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
