"""Rules the SageMaker service enforces (or that the project relies on) beyond botocore's shapes.

`pipelines/validation.py` proves every request has the right members, types and enum values. SageMaker
refuses more than that when a step runs: a volume key on an instance with local NVMe storage, a retry
policy on a step type that takes none, a name over 63 characters once a Join is resolved, a spot job
whose MaxWaitTimeInSeconds is below its MaxRuntimeInSeconds... Each rule here is one small function
with the page (AWS documentation, SDK source or the service model) it encodes, so a reader can check
the rule against its source, and a test mutates a valid definition to make each one fire.

Rules read the definition JSON (what upsert sends), with every Parameter at the value in force: its
default, or the value a `start --param` override gives it. A Join is resolved with the longest value each
part can take (an enum Parameter its longest member, the execution id its full length, a step property
the longest the service allows), so a name that fits today but not on a longer run is caught here.

    from pipelines.service_rules import RuleContext, check_service_rules
    violations = check_service_rules(definition, RuleContext.of(cfg), overrides={"X": "y"})
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from model_registry import serverless
from model_registry.naming import pipeline_name
from pipelines.validation import flatten_steps
from project.images import device_of as device_of_instance
from project.instance_types import takes_ebs_volume

UNKNOWN = object()  # a value only known at run time, with no documented bound

# ---- sources ----------------------------------------------------------------------------------------
DOC = "https://docs.aws.amazon.com/sagemaker/latest"
SDK = "https://github.com/aws/sagemaker-python-sdk/blob/master"
BOTOCORE_MODEL = (
    "https://github.com/boto/botocore/blob/develop/botocore/data/sagemaker/2017-07-24/service-2.json"
)
SRC_VOLUME_KMS = (
    f"{DOC}/APIReference/API_ResourceConfig.html (VolumeKmsKeyId), "
    f"{DOC}/APIReference/API_ProcessingClusterConfig.html (VolumeKmsKeyId), "
    f"{DOC}/APIReference/API_TransformResources.html (VolumeKmsKeyId); "
    f"{SDK}/sagemaker-core/src/sagemaker/core/common_utils.py volume_size_supported()"
)
SRC_TRAINING_KEY_FORMAT = f"{DOC}/APIReference/API_ResourceConfig.html (VolumeKmsKeyId formats)"
SRC_RETRY = f"{DOC}/dg/pipelines-retry-policy.html"
SRC_CACHE_KEYS = f"{DOC}/dg/pipelines-default-keys.html"
SRC_NAMES = f"{BOTOCORE_MODEL} (max and pattern of every string shape)"
SRC_SPOT = (
    f"{DOC}/APIReference/API_StoppingCondition.html (MaxWaitTimeInSeconds); "
    "https://github.com/aws/sagemaker-python-sdk/issues/4140"
)
SRC_DATA_CAPTURE = (
    f"{DOC}/dg/model-monitor-data-capture-endpoint.html; the execution role may only write the project "
    "prefix (pipelines/iam.py)"
)
SRC_INSTANCE_ENUMS = (
    f"{BOTOCORE_MODEL} (TrainingInstanceType, ProcessingInstanceType, ProductionVariantInstanceType, "
    "TransformInstanceType)"
)
SRC_IMAGE_DEVICE = (
    "https://github.com/aws/deep-learning-containers/blob/master/available_images.md "
    "(CPU and GPU images are separate); project/images.py (project image tags <device>-<sha12>)"
)
SRC_SERVING_TYPES = (
    f"{DOC}/APIReference/API_InferenceSpecification.html (SupportedRealtimeInferenceInstanceTypes)"
)
SRC_CHECKPOINTS = (
    f"{DOC}/dg/model-checkpoints.html (SageMaker syncs the whole S3 prefix to LocalPath at start: a "
    f"shared prefix resumes someone else's run); {DOC}/dg/pipelines-default-keys.html (CheckpointConfig "
    "is part of a Training step's cache key)"
)

# ---- facts from the sources ------------------------------------------------------------------------
# Pipeline step types that take RetryPolicies (SRC_RETRY lists them; "Model" is the Create model step).
RETRYABLE_STEP_TYPES = frozenset(
    {"Processing", "Training", "Tuning", "AutoML", "Model", "RegisterModel", "Transform", "NotebookJob"}
)
# Request members that make a cached step's cache key (SRC_CACHE_KEYS), by step type.
CACHE_KEY_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Processing": ("AppSpecification", "Environment", "ProcessingInputs"),
    "Training": (
        "AlgorithmSpecification",
        "CheckpointConfig",
        "DebugHookConfig",
        "DebugRuleConfigurations",
        "Environment",
        "HyperParameters",
        "InputDataConfig",
    ),
    "Tuning": ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions"),
    "Transform": (
        "DataProcessing",
        "Environment",
        "ModelName",
        "TransformInput",
    ),
}
INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9]+$")
KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$")
# Execution variables at their longest. A pipeline execution id is 12 lower-case letters and digits
# (e.g. .../execution/hmk0lcu6ufzc in the SDK's integration tests; the API documents no other length).
EXECUTION_ID_LONGEST = "a1b2c3d4e5f6"
# Names the pipeline assigns to the jobs and models it creates: at most the shape's 63 characters.
ASSIGNED_NAME_LONGEST = "p" * 63
# The only JsonGet values the definition puts into Arguments are SHA-256 hex digests (steps/context.py).
SHA256_LONGEST = "f" * 64
OPERATIONS = {
    "Processing": "CreateProcessingJob",
    "Training": "CreateTrainingJob",
    "RegisterModel": "CreateModelPackage",
    "Model": "CreateModel",
    "EndpointConfig": "CreateEndpointConfig",
    "Endpoint": "CreateEndpoint",
    "Tuning": "CreateHyperParameterTuningJob",
    "Transform": "CreateTransformJob",
}
INSTANCE_ENUMS = {
    "Processing": "ProcessingInstanceType",
    "Training": "TrainingInstanceType",
    "Tuning": "TrainingInstanceType",
    "EndpointConfig": "ProductionVariantInstanceType",
    "Transform": "TransformInstanceType",
}


@dataclass(frozen=True)
class Violation:
    """One rule broken by one step; `source` is where the rule is written down."""

    rule: str
    step: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"{self.step}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class RuleContext:
    """What the rules need besides the definition: the project's bucket/prefix and pipeline identity."""

    bucket: str
    prefix: str
    pipeline_name: str
    region: str = "us-east-1"
    account_id: str = "123456789012"

    @classmethod
    def of(cls, cfg: Any) -> RuleContext:
        project = cfg.project
        return cls(
            project.bucket,
            project.prefix,
            pipeline_name(project.name, cfg.env),
            project.region,
            project.account_id,
        )


@dataclass
class Checked:
    """The definition under check: its steps by name and every Parameter at its value in force."""

    definition: dict[str, Any]
    context: RuleContext
    values: dict[str, Any]
    enums: dict[str, list[str]] = field(default_factory=dict)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return flatten_steps(self.definition["Steps"])

    def step(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.steps if s["Name"] == name), None)

    # ---- values ---------------------------------------------------------------------------------
    def value(self, expr: Any) -> Any:
        """The value in force: Parameters as given, Joins joined; UNKNOWN for run-time values."""
        return self._resolve(expr, longest=False)

    def longest(self, expr: Any) -> Any:
        """The longest value `expr` can take (see the module docstring), or UNKNOWN when unbounded."""
        return self._resolve(expr, longest=True)

    def _resolve(self, expr: Any, longest: bool) -> Any:
        if not _is_expression(expr):
            return expr
        kind, body = next(iter(expr.items()))
        if kind == "Std:Join":
            parts = [self._resolve(part, longest) for part in body["Values"]]
            if any(part is UNKNOWN for part in parts):
                return UNKNOWN
            return body["On"].join(_text(part) for part in parts)
        if kind == "Std:JsonGet":
            return SHA256_LONGEST if longest and str(body.get("Path", "")).endswith("sha256") else UNKNOWN
        reference = str(body)
        if reference.startswith("Parameters."):
            name = reference.removeprefix("Parameters.")
            if longest and self.enums.get(name):
                return max(self.enums[name], key=len)
            return self.values.get(name, UNKNOWN)
        if reference.startswith("Execution."):
            return self._execution_variable(reference.removeprefix("Execution."), longest)
        if reference.startswith("Steps."):
            return self._step_property(reference, longest)
        return UNKNOWN

    def _execution_variable(self, name: str, longest: bool) -> Any:
        if not longest:
            return UNKNOWN
        ctx = self.context
        arn = f"arn:aws:sagemaker:{ctx.region}:{ctx.account_id}:pipeline/{ctx.pipeline_name}"
        return {
            "PipelineExecutionId": EXECUTION_ID_LONGEST,
            "PipelineName": ctx.pipeline_name,
            "PipelineArn": arn,
            "PipelineExecutionArn": f"{arn}/execution/{EXECUTION_ID_LONGEST}",
        }.get(name, UNKNOWN)

    def _step_property(self, reference: str, longest: bool) -> Any:
        """A step property whose value the definition itself determines (or bounds)."""
        step_name, _, path = reference.removeprefix("Steps.").partition(".")
        step = self.step(step_name)
        if step is None:
            return UNKNOWN
        args = step.get("Arguments", {})
        output = re.fullmatch(r"ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri", path)
        if output:
            for item in args.get("ProcessingOutputConfig", {}).get("Outputs", []):
                if item.get("OutputName") == output.group(1):
                    return self._resolve(item["S3Output"]["S3Uri"], longest)
            return UNKNOWN
        if path == "EndpointConfigName" and "EndpointConfigName" in args:
            return self._resolve(args["EndpointConfigName"], longest)
        if not longest:
            return UNKNOWN
        if path == "ModelArtifacts.S3ModelArtifacts":
            root = self._resolve(args.get("OutputDataConfig", {}).get("S3OutputPath"), longest)
            if root is UNKNOWN:
                return UNKNOWN
            return f"{_text(root).rstrip('/')}/{ASSIGNED_NAME_LONGEST}/output/model.tar.gz"
        if path in {"ModelName", "TrainingJobName", "ProcessingJobName"}:
            return ASSIGNED_NAME_LONGEST
        return UNKNOWN


def _is_expression(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in {"Get", "Std:Join", "Std:JsonGet"}
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def references(value: Any) -> Iterator[str]:
    """Every `Get` reference (Parameters.X, Execution.Y, Steps.Z...) inside `value`."""
    if isinstance(value, dict):
        if isinstance(value.get("Get"), str):
            yield value["Get"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


# ---- instance types -------------------------------------------------------------------------------
def _is_instance_type(value: Any) -> bool:
    """An `ml.<family>.<size>` string (anything else is rule_instance_type_for_job_kind's to report)."""
    return isinstance(value, str) and INSTANCE_TYPE.match(value) is not None


def device_of_image(uri: str) -> str | None:
    """'gpu'/'cpu' from a project image tag (`:gpu-<sha12>`) or a DLC tag (`...-gpu-py312...`)."""
    tag = uri.rpartition(":")[2] if ":" in uri.rpartition("/")[2] else ""
    for device in ("gpu", "cpu"):
        if tag.startswith(f"{device}-") or f"-{device}-" in tag or tag.endswith(f"-{device}"):
            return device
    return None


def _instance_slots(step: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(path, the dict holding InstanceType, member) for each place a step names its instances."""
    args = step.get("Arguments", {})
    kind = step["Type"]
    if kind == "Processing":
        yield (
            "ProcessingResources.ClusterConfig",
            args.get("ProcessingResources", {}).get("ClusterConfig", {}),
            "InstanceType",
        )
    elif kind == "Training":
        yield "ResourceConfig", args.get("ResourceConfig", {}), "InstanceType"
    elif kind == "Tuning":
        for path, definition in _tuning_definitions(args):
            yield f"{path}.ResourceConfig", definition.get("ResourceConfig", {}), "InstanceType"
    elif kind == "EndpointConfig":
        for index, variant in enumerate(args.get("ProductionVariants", [])):
            yield f"ProductionVariants[{index}]", variant, "InstanceType"
    elif kind == "Transform":
        yield "TransformResources", args.get("TransformResources", {}), "InstanceType"


def _tuning_definitions(args: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if "TrainingJobDefinition" in args:
        yield "TrainingJobDefinition", args["TrainingJobDefinition"]
    for index, definition in enumerate(args.get("TrainingJobDefinitions", [])):
        yield f"TrainingJobDefinitions[{index}]", definition


def _training_requests(step: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The training-job requests of a Training step (itself) or a Tuning step (its definitions)."""
    if step["Type"] == "Training":
        yield "", step.get("Arguments", {})
    elif step["Type"] == "Tuning":
        for path, definition in _tuning_definitions(step.get("Arguments", {})):
            yield f"{path}.", definition


# ---- the rules ------------------------------------------------------------------------------------
def rule_volume_kms_key_needs_ebs(checked: Checked) -> list[Violation]:
    """VolumeKmsKeyId only where the instance type takes an EBS volume (not on NVMe families)."""
    found = []
    for step in checked.steps:
        for path, holder, member in _instance_slots(step):
            if "VolumeKmsKeyId" not in holder or step["Type"] == "EndpointConfig":
                continue
            instance_type = checked.value(holder.get(member))
            if _is_instance_type(instance_type) and not takes_ebs_volume(instance_type):
                found.append(
                    Violation(
                        "volume-kms-key-needs-ebs",
                        step["Name"],
                        f"{path}.VolumeKmsKeyId is set but {instance_type} has local NVMe storage and no "
                        "EBS volume: AWS refuses the key; set it only on instance types that take a volume",
                        SRC_VOLUME_KMS,
                    )
                )
    return found


def rule_training_volume_key_format(checked: Checked) -> list[Violation]:
    """A training job's VolumeKmsKeyId is a key id or a key ARN; an alias is not accepted there."""
    found = []
    for step in checked.steps:
        for path, request in _training_requests(step):
            key = checked.value(request.get("ResourceConfig", {}).get("VolumeKmsKeyId"))
            if isinstance(key, str) and not (KMS_KEY_ID.match(key) or KMS_KEY_ARN.match(key)):
                found.append(
                    Violation(
                        "training-volume-key-format",
                        step["Name"],
                        f"{path}ResourceConfig.VolumeKmsKeyId {key!r} is not a KMS key id or key ARN "
                        "(an alias is not accepted for a training volume)",
                        SRC_TRAINING_KEY_FORMAT,
                    )
                )
    return found


def rule_retry_policy_step_types(checked: Checked) -> list[Violation]:
    """RetryPolicies only on the step types the service documents as retryable."""
    return [
        Violation(
            "retry-policy-step-type",
            step["Name"],
            f"a {step['Type']} step cannot carry RetryPolicies; only "
            f"{', '.join(sorted(RETRYABLE_STEP_TYPES))} steps take them",
            SRC_RETRY,
        )
        for step in checked.steps
        if step.get("RetryPolicies") and step["Type"] not in RETRYABLE_STEP_TYPES
    ]


def rule_cache_key_without_execution_variables(checked: Checked) -> list[Violation]:
    """A cached step whose cache-key attributes read an execution variable can never hit the cache."""
    found = []
    for step in checked.steps:
        if not step.get("CacheConfig", {}).get("Enabled"):
            continue
        args = step.get("Arguments", {})
        for attribute in CACHE_KEY_ATTRIBUTES.get(step["Type"], ()):
            variables = sorted({r for r in references(args.get(attribute)) if r.startswith("Execution.")})
            if variables:
                found.append(
                    Violation(
                        "cache-key-execution-variable",
                        step["Name"],
                        f"{attribute} is part of the cache key and reads {', '.join(variables)}, which "
                        "changes every run: the step would never hit the cache",
                        SRC_CACHE_KEYS,
                    )
                )
    return found


def rule_string_limits(checked: Checked) -> list[Violation]:
    """Every string at its longest resolved value fits its shape's maximum length and pattern."""
    model = _service_model()
    found = []
    for step in checked.steps:
        operation = OPERATIONS.get(step["Type"])
        if operation is None:
            continue
        shape = model.operation_model(operation).input_shape
        for path, value, leaf in _string_leaves(step.get("Arguments", {}), shape):
            text = checked.longest(value)
            if text is UNKNOWN or not isinstance(text, str | int | float):
                continue
            text = _text(text)
            limit = leaf.metadata.get("max")
            if limit is not None and len(text) > limit:
                found.append(
                    Violation(
                        "string-limit",
                        step["Name"],
                        f"{path} is {len(text)} characters at its longest ({text[:80]!r}...), over the "
                        f"{limit} that {leaf.name} allows",
                        SRC_NAMES,
                    )
                )
                continue
            pattern = _pattern(leaf.metadata.get("pattern"))
            if pattern is not None and not pattern.fullmatch(text):
                found.append(
                    Violation(
                        "string-pattern",
                        step["Name"],
                        f"{path} {text!r} does not match {leaf.name}'s pattern {pattern.pattern!r}",
                        SRC_NAMES,
                    )
                )
    return found


def rule_spot_max_wait(checked: Checked) -> list[Violation]:
    """Spot jobs set MaxWaitTimeInSeconds >= MaxRuntimeInSeconds; non-spot jobs leave it out."""
    found = []
    for step in checked.steps:
        for path, request in _training_requests(step):
            stopping = request.get("StoppingCondition", {})
            spot = checked.value(request.get("EnableManagedSpotTraining", False)) is True
            wait = checked.value(stopping.get("MaxWaitTimeInSeconds"))
            runtime = checked.value(stopping.get("MaxRuntimeInSeconds"))
            message = None
            if spot and wait is None:
                message = "managed spot training needs StoppingCondition.MaxWaitTimeInSeconds"
            elif spot and isinstance(wait, int) and isinstance(runtime, int) and wait < runtime:
                message = f"MaxWaitTimeInSeconds ({wait}) is below MaxRuntimeInSeconds ({runtime})"
            elif not spot and wait is not None:
                message = "MaxWaitTimeInSeconds is set but managed spot training is off"
            if message:
                found.append(Violation("spot-max-wait", step["Name"], f"{path}{message}", SRC_SPOT))
    return found


def rule_data_capture_in_project(checked: Checked) -> list[Violation]:
    """Endpoint data capture lands under the project's own bucket and prefix."""
    ctx = checked.context
    root = f"s3://{ctx.bucket}/{ctx.prefix.strip('/')}/"
    found = []
    for step in checked.steps:
        if step["Type"] != "EndpointConfig":
            continue
        capture = step.get("Arguments", {}).get("DataCaptureConfig")
        if not capture:
            continue
        destination = checked.value(capture.get("DestinationS3Uri"))
        shown = "<a run-time value>" if destination is UNKNOWN else str(destination)
        if destination is UNKNOWN or not shown.startswith(root):
            found.append(
                Violation(
                    "data-capture-destination",
                    step["Name"],
                    f"DataCaptureConfig.DestinationS3Uri {shown} "
                    f"is not under {root}, the only place the execution role may write",
                    SRC_DATA_CAPTURE,
                )
            )
    return found


def rule_instance_type_for_job_kind(checked: Checked) -> list[Violation]:
    """Each job kind runs only on the instance types its API accepts (an override is checked too)."""
    model = _service_model()
    found = []
    for step in checked.steps:
        enum_name = INSTANCE_ENUMS.get(step["Type"])
        if enum_name is None:
            continue
        allowed = set(model.shape_for(enum_name).enum)
        for path, holder, member in _instance_slots(step):
            instance_type = checked.value(holder.get(member))
            if isinstance(instance_type, str) and instance_type not in allowed:
                found.append(
                    Violation(
                        "instance-type-for-job-kind",
                        step["Name"],
                        f"{path}.{member} {instance_type} is not a {enum_name}: a {step['Type']} job cannot "
                        "run on it",
                        SRC_INSTANCE_ENUMS,
                    )
                )
    return found


def rule_image_matches_instance_device(checked: Checked) -> list[Violation]:
    """A GPU image runs on a GPU instance type and a CPU image on a CPU one (overrides included)."""
    found = []
    for step in checked.steps:
        for path, holder, member in _instance_slots(step):
            image = _image_of(checked, step, holder)
            instance_type = checked.value(holder.get(member))
            if not isinstance(image, str) or not _is_instance_type(instance_type):
                continue
            wanted = device_of_image(image)
            repository_tag = image.rpartition("/")[2]
            if wanted is not None and wanted != device_of_instance(instance_type):
                found.append(
                    Violation(
                        "image-device",
                        step["Name"],
                        f"{path}.{member} {instance_type} is a {device_of_instance(instance_type).upper()} "
                        f"type but the step's image is built for {wanted.upper()} ({repository_tag}); "
                        "a run on other hardware is a config overlay built for it, not an override",
                        SRC_IMAGE_DEVICE,
                    )
                )
    return found


def _image_of(checked: Checked, step: dict[str, Any], holder: dict[str, Any]) -> Any:
    args = step.get("Arguments", {})
    if step["Type"] == "Processing":
        return args.get("AppSpecification", {}).get("ImageUri")
    if step["Type"] == "Training":
        return args.get("AlgorithmSpecification", {}).get("TrainingImage")
    if step["Type"] == "EndpointConfig":
        model_step = _model_step_of(checked, holder.get("ModelName"))
        if model_step is not None:
            return model_step["Arguments"].get("PrimaryContainer", {}).get("Image")
    return None


def _model_step_of(checked: Checked, model_name: Any) -> dict[str, Any] | None:
    """The Model step whose ModelName a production variant reads."""
    reference = model_name.get("Get") if isinstance(model_name, dict) else None
    match = re.fullmatch(r"Steps\.([A-Za-z0-9-]+)\.ModelName", str(reference))
    step = checked.step(match.group(1)) if match else None
    return step if step is not None and step["Type"] == "Model" else None


def rule_serving_types_registered(checked: Checked) -> list[Violation]:
    """An endpoint serves a model only on instance types its registered package declares."""
    registered: dict[str, tuple[str, set[str]]] = {}
    for step in checked.steps:
        if step["Type"] != "RegisterModel":
            continue
        spec = step["Arguments"].get("InferenceSpecification", {})
        types = {checked.value(t) for t in spec.get("SupportedRealtimeInferenceInstanceTypes", [])}
        for container in spec.get("Containers", []):
            registered[json.dumps(container.get("ModelDataUrl"), sort_keys=True)] = (step["Name"], types)
    found = []
    for step in checked.steps:
        if step["Type"] != "EndpointConfig":
            continue
        for index, variant in enumerate(step["Arguments"].get("ProductionVariants", [])):
            model_step = _model_step_of(checked, variant.get("ModelName"))
            if model_step is None:
                continue
            data = model_step["Arguments"].get("PrimaryContainer", {}).get("ModelDataUrl")
            package = registered.get(json.dumps(data, sort_keys=True))
            instance_type = checked.value(variant.get("InstanceType"))
            if package is None or not isinstance(instance_type, str):
                continue
            if instance_type not in package[1]:
                found.append(
                    Violation(
                        "serving-type-registered",
                        step["Name"],
                        f"ProductionVariants[{index}].InstanceType {instance_type} is not among the types "
                        f"{package[0]} registers ({', '.join(sorted(map(str, package[1])))})",
                        SRC_SERVING_TYPES,
                    )
                )
    return found


def rule_serverless_endpoint(checked: Checked) -> list[Violation]:
    """A serverless EndpointConfig holds what AWS allows (model_registry/serverless.py names the page of
    each rule: memory sizes, concurrency bounds, no instances or GPU, no capture, one variant, no VPC or
    network isolation on the model it serves)."""
    found = []
    for step in checked.steps:
        if step["Type"] != "EndpointConfig":
            continue
        args = step.get("Arguments", {})
        variants = args.get("ProductionVariants", [])
        if not any("ServerlessConfig" in v for v in variants):
            continue
        resolved = {**args, "ProductionVariants": [_resolved_variant(checked, v) for v in variants]}
        model_step = _model_step_of(checked, variants[0].get("ModelName")) if variants else None
        model = model_step["Arguments"] if model_step is not None else None
        for problem, source in serverless.endpoint_config_problems(resolved, model):
            found.append(Violation("serverless-endpoint", step["Name"], problem, source))
        image = model.get("PrimaryContainer", {}).get("Image") if model else None
        if isinstance(image, str) and device_of_image(image) == "gpu":
            found.append(
                Violation(
                    "serverless-endpoint",
                    step["Name"],
                    f"the model's image is built for GPU ({image.rpartition('/')[2]}); serverless endpoints "
                    "run on CPU",
                    serverless.SRC_EXCLUSIONS,
                )
            )
    return found


def _resolved_variant(checked: Checked, variant: dict[str, Any]) -> dict[str, Any]:
    """A production variant with its ServerlessConfig numbers at their values in force."""
    if "ServerlessConfig" not in variant:
        return variant
    config = {k: checked.value(v) for k, v in variant["ServerlessConfig"].items()}
    return {**variant, "ServerlessConfig": config}


def rule_checkpoints_per_job(checked: Checked) -> list[Violation]:
    """No two training jobs share a checkpoint prefix, within a run or across runs of other inputs.

    - Tuning: every trial of a tuning job gets the same CheckpointConfig, so trials would resume each
      other: a tuning job's training definition must not set one.
    - Two Training steps with the same prefix would resume each other.
    - Across executions: CheckpointConfig is part of the cache key, so the prefix cannot carry the
      execution id (the step would never be cached; see rule_cache_key_without_execution_variables).
      Instead it must carry everything else in the step's cache key, so that two runs share a prefix
      only when the service would treat them as the same step (a cache hit): every run-time value
      (Parameter, JsonGet) of the cache-key attributes, and the digest of their static part
      (`checkpoint_digest`).
    """
    from steps.checkpoints import checkpoint_digest, run_time_inputs

    found = []
    seen: dict[str, str] = {}
    for step in checked.steps:
        if step["Type"] == "Tuning":
            for path, definition in _tuning_definitions(step.get("Arguments", {})):
                if "CheckpointConfig" in definition:
                    found.append(
                        Violation(
                            "checkpoint-prefix",
                            step["Name"],
                            f"{path}.CheckpointConfig is shared by every trial of the tuning job: trials "
                            "would resume each other's checkpoints; leave it out of tuning",
                            SRC_CHECKPOINTS,
                        )
                    )
        if step["Type"] != "Training":
            continue
        args = step.get("Arguments", {})
        uri = args.get("CheckpointConfig", {}).get("S3Uri")
        if uri is None:
            continue
        key = json.dumps(uri, sort_keys=True)
        if key in seen:
            found.append(
                Violation(
                    "checkpoint-prefix",
                    step["Name"],
                    f"CheckpointConfig.S3Uri is the same as {seen[key]}'s: the two jobs would resume "
                    "each other's checkpoints",
                    SRC_CHECKPOINTS,
                )
            )
        seen[key] = step["Name"]
        parts = uri["Std:Join"]["Values"] if isinstance(uri, dict) and "Std:Join" in uri else [uri]
        present = {json.dumps(part, sort_keys=True) for part in parts}
        missing = [
            json.dumps(item, sort_keys=True)
            for item in run_time_inputs(args)
            if json.dumps(item, sort_keys=True) not in present
        ]
        digest = checkpoint_digest(args)
        if digest not in parts:
            missing.insert(0, f"the digest of the static cache key ({digest})")
        if missing:
            found.append(
                Violation(
                    "checkpoint-prefix",
                    step["Name"],
                    "CheckpointConfig.S3Uri leaves out part of the step's cache key, so a run with other "
                    f"inputs would resume these checkpoints: {'; '.join(missing)}",
                    SRC_CHECKPOINTS,
                )
            )
    return found


RULES: tuple[Callable[[Checked], list[Violation]], ...] = (
    rule_volume_kms_key_needs_ebs,
    rule_training_volume_key_format,
    rule_retry_policy_step_types,
    rule_cache_key_without_execution_variables,
    rule_string_limits,
    rule_spot_max_wait,
    rule_data_capture_in_project,
    rule_instance_type_for_job_kind,
    rule_image_matches_instance_device,
    rule_serving_types_registered,
    rule_serverless_endpoint,
    rule_checkpoints_per_job,
)


def check_service_rules(
    definition: dict[str, Any], context: RuleContext, overrides: dict[str, Any] | None = None
) -> list[Violation]:
    """Every rule of RULES broken by `definition` with its Parameters at their defaults, or at
    `overrides` where given (what `pipelines start --param` would run)."""
    parameters = definition.get("Parameters", [])
    values = {p["Name"]: p.get("DefaultValue", UNKNOWN) for p in parameters}
    values.update(overrides or {})
    enums = {p["Name"]: list(p["EnumValues"]) for p in parameters if p.get("EnumValues")}
    checked = Checked(definition, context, values, enums)
    return [violation for rule in RULES for violation in rule(checked)]


def override_violations(
    definition: dict[str, Any], context: RuleContext, overrides: dict[str, Any]
) -> list[Violation]:
    """The violations `overrides` add to the definition's own (what a start must refuse)."""
    before = {str(v) for v in check_service_rules(definition, context)}
    return [v for v in check_service_rules(definition, context, overrides) if str(v) not in before]


# ---- botocore plumbing ----------------------------------------------------------------------------
@cache
def _service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


@cache
def _pattern(source: str | None) -> re.Pattern[str] | None:
    """The shape's pattern as a Python regex; None when it has none or uses Java-only syntax."""
    if not source:
        return None
    try:
        return re.compile(source)
    except re.error:
        return None  # e.g. \p{L} classes: the length check still applies


def _string_leaves(value: Any, shape: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, value, shape) for every string-shaped member of a request, expressions included."""
    if shape is None:
        return
    if shape.type_name == "string":
        if _is_expression(value) or isinstance(value, str):
            yield path or shape.name, value, shape
        return
    if _is_expression(value):
        return
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                yield from _string_leaves(item, shape.members[key], f"{path}.{key}".lstrip("."))
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, shape.value, f"{path}.{key}")
