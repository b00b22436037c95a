"""Shared shape of every Processing step: run one container script from the code bundle.

Each job gets the bundle as the ProcessingInput `code` at /opt/ml/processing/input/code and runs
`python3 /opt/ml/processing/input/code/containers/<area>/<script>.py <args>`. Inputs and outputs are
named folders under /opt/ml/processing/input|output/<name>.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.steps import StepTypeEnum

from project.instance_types import takes_ebs_volume
from steps.context import CODE_MOUNT, PROCESSING_ROOT, StepContext
from steps.request_step import RequestStep


@dataclass(frozen=True)
class Input:
    """A ProcessingInput: `source` (S3 URI or expression) mounted at input/<name>."""

    name: str
    source: Any
    distribution: str = "FullyReplicated"
    mount: str | None = None  # default: /opt/ml/processing/input/<name>

    @property
    def local_path(self) -> str:
        return self.mount or f"{PROCESSING_ROOT}/input/{self.name}"


@dataclass(frozen=True)
class Output:
    """A ProcessingOutput: the job's output/<name> folder, uploaded at the end of the job."""

    name: str

    @property
    def local_path(self) -> str:
        return f"{PROCESSING_ROOT}/output/{self.name}"


@dataclass(frozen=True)
class ScriptJob:
    """One processing job: script under containers/, arguments, data in and out, where it runs."""

    step_name: str
    script: str  # e.g. "processing/clean_subtitles.py"
    arguments: list[Any]
    inputs: list[Input]
    outputs: list[Output]
    image_uri: str
    instance_type: Any
    instance_count: Any = 1
    environment: dict[str, Any] = field(default_factory=dict)
    volume_size_gb: int | None = None
    max_runtime_s: int | None = None


def script_path(script: str) -> str:
    return f"{CODE_MOUNT}/containers/{script}"


def _s3_input(item: Input) -> dict[str, Any]:
    return {
        "InputName": item.name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": item.source,
            "LocalPath": item.local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": item.distribution,
        },
    }


def processing_request(ctx: StepContext, job: ScriptJob) -> dict[str, Any]:
    """The CreateProcessingJob request (minus the job name, which the pipeline assigns)."""
    cfg = ctx.cfg
    code = Input("code", ctx.code_uri_for(job.script), mount=CODE_MOUNT)
    inputs = [_s3_input(item) for item in [*job.inputs, code]]
    outputs = [
        {
            "OutputName": out.name,
            "AppManaged": False,
            "S3Output": {
                "S3Uri": ctx.run_output(job.step_name, out.name),
                "LocalPath": out.local_path,
                "S3UploadMode": "EndOfJob",
            },
        }
        for out in job.outputs
    ]
    output_config: dict[str, Any] = {"Outputs": outputs}
    cluster: dict[str, Any] = {
        "InstanceCount": job.instance_count,
        "InstanceType": job.instance_type,
        "VolumeSizeInGB": job.volume_size_gb or cfg.processing.volume_size_gb,
    }
    if cfg.security.kms_key_id:
        output_config["KmsKeyId"] = cfg.security.kms_key_id
        # Decided on the type the definition is built for (the Parameter's default): NVMe families have
        # no EBS volume and AWS refuses a volume key there; a start override is checked by the rules.
        if takes_ebs_volume(getattr(job.instance_type, "default_value", job.instance_type)):
            cluster["VolumeKmsKeyId"] = cfg.security.kms_key_id
    request: dict[str, Any] = {
        "ProcessingResources": {"ClusterConfig": cluster},
        "AppSpecification": {
            "ImageUri": job.image_uri,
            "ContainerEntrypoint": ["python3", script_path(job.script)],
            "ContainerArguments": [str(a) if isinstance(a, int | float) else a for a in job.arguments],
        },
        "RoleArn": cfg.project.role_arn,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": output_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_s or cfg.processing.max_runtime_s},
        "NetworkConfig": ctx.network_config(),
    }
    if job.environment:
        request["Environment"] = dict(job.environment)
    return request


def processing_step(
    ctx: StepContext,
    job: ScriptJob,
    *,
    description: str,
    data_folders: tuple[str, ...] = (),
    cached: bool = True,
    property_files: list[PropertyFile] | None = None,
) -> RequestStep:
    """A Processing step for `job`; a cached one carries the hash of each input folder it reads
    (`data_folders`, directly or through upstream steps) in its Environment, so in its cache key."""
    if cached:
        environment = {**job.environment, **ctx.fingerprint_environment(data_folders)}
        job = replace(job, environment=environment)
    return RequestStep(
        job.step_name,
        StepTypeEnum.PROCESSING,
        processing_request(ctx, job),
        description=description,
        cache_config=ctx.cache_config() if cached else None,
        retry_policies=ctx.job_retry_policies(),
        property_files=property_files,
    )
