"""What every step builder needs: config, Parameters, code location, images, S3 layout, shared policies.

S3 layout under `s3://<bucket>/<prefix>/`:
    code/<sha12>/...                      a code bundle (content-addressed; uploaded by upsert): each step
                                          runs its script's own closure, so its own <sha12> (code_key)
    <env>/runs/<execution id>/<Step>/<output>   each execution's outputs (not part of any cache key)
    <env>/checkpoints/<Step>/<digest>/<run-time values>/...   training checkpoints, keyed on the
                                          step's cache key (steps/checkpoints.py)
    <env>/data-capture/<model>/           endpoint data capture
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.retry import (
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.mlops.workflow.steps import CacheConfig

from conf.schema import Config
from containers.processing.fingerprint_data import DEFAULT_FOLDERS
from project.bundle import CODE_FOLDER, REPO_ROOT, code_prefix, sourcedir_uri, step_hash
from steps import names
from steps.checkpoints import checkpoint_digest, run_time_objects
from steps.parameters import PipelineParameters

PROCESSING_ROOT = "/opt/ml/processing"
CODE_MOUNT = f"{PROCESSING_ROOT}/input/code"

# The fingerprint step's output and the property file the hashes are read from (steps/fingerprint_data.py).
FINGERPRINT_OUTPUT = "fingerprint"
FINGERPRINT_FILE = PropertyFile(
    name="FingerprintFile", output_name=FINGERPRINT_OUTPUT, path="fingerprint.json"
)
# The input layout's folders, each hashed on its own; a cached step keys on the ones it reads.
DATA_FOLDERS: tuple[str, ...] = DEFAULT_FOLDERS


def fingerprint_env_name(folder: str) -> str:
    """The Environment key carrying `folder`'s hash, e.g. DATA_FINGERPRINT_LOCATIONS."""
    return f"DATA_FINGERPRINT_{folder.upper()}"


@dataclass(frozen=True)
class Images:
    """Image URIs by use: processing (CPU), training/evaluation per model, inference per model."""

    processing: str
    training: dict[str, str]
    evaluation: dict[str, str]
    inference: dict[str, str]


@dataclass(frozen=True)
class StepContext:
    cfg: Config
    params: PipelineParameters
    code_sha12: str  # the whole bundle's hash: the release's identity (registry metadata)
    images: Images
    code_root: Path = REPO_ROOT

    # ---- code -------------------------------------------------------------------------------------
    # SageMaker keys a cached step on its request arguments, not on the content behind an S3 URI
    # ("Default cache key attributes by pipeline step type",
    # https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-default-keys.html: Processing keys on
    # AppSpecification, Environment, ProcessingInputs; Training on AlgorithmSpecification,
    # CheckpointConfig, Environment, HyperParameters, InputDataConfig, ...).
    # A CODE_FINGERPRINT variable beside one whole-bundle URI would not help: that URI is itself in
    # ProcessingInputs / HyperParameters and changes with any edit. So each step's code URI is its own
    # content-addressed bundle (the closure of its script, project.bundle.step_files): an edit changes
    # the URI of exactly the steps that run the edited code.
    def code_key(self, script: str) -> str:
        """The 12-digit hash of the closure of `script` ('processing/x.py' or 'containers/...')."""
        path = script if script.startswith(f"{CODE_FOLDER}/") else f"{CODE_FOLDER}/{script}"
        return step_hash(path, self.code_root)

    def code_uri_for(self, script: str) -> str:
        """`s3://<bucket>/<prefix>/code/<code_key>/`: the bundle a job running `script` mounts."""
        return code_prefix(self.cfg.project.bucket, self.cfg.project.prefix, self.code_key(script))

    def sourcedir_uri_for(self, script: str) -> str:
        """The training tarball of `script`'s bundle (`sagemaker_submit_directory`)."""
        return sourcedir_uri(self.cfg.project.bucket, self.cfg.project.prefix, self.code_key(script))

    @property
    def code_uri(self) -> str:
        """The whole bundle: only for a job whose script is not known here (prefer code_uri_for)."""
        return code_prefix(self.cfg.project.bucket, self.cfg.project.prefix, self.code_sha12)

    @property
    def sourcedir_uri(self) -> str:
        """The whole bundle's tarball (prefer sourcedir_uri_for)."""
        return sourcedir_uri(self.cfg.project.bucket, self.cfg.project.prefix, self.code_sha12)

    # ---- S3 layout --------------------------------------------------------------------------------
    @property
    def env_root(self) -> str:
        return f"{self.cfg.project.s3_root.rstrip('/')}/{self.cfg.env}"

    def input_folder(self, *parts: str) -> Join:
        """A folder under the InputDataUri parameter, with a trailing slash: S3 inputs match key
        prefixes, and without it `.../raw/subtitles` would also pull in `.../raw/subtitles-old/`."""
        return Join(on="/", values=[self.params.input_data_uri, *parts, ""])

    def run_output(self, step_name: str, output: str) -> Join:
        """Where one execution's step writes `output`; the execution id keeps runs apart."""
        return Join(
            on="/",
            values=[self.env_root, "runs", ExecutionVariables.PIPELINE_EXECUTION_ID, step_name, output],
        )

    def checkpoint_uri(self, step_name: str, request: dict[str, Any]) -> Join:
        """Checkpoints of a training step keyed on its cache key (steps/checkpoints.py says why).

        `request` is the step's CreateTrainingJob request without CheckpointConfig. A spot restart, a
        retried job or RetryPipelineExecution resumes; a run with any other input starts afresh.
        """
        return Join(
            on="/",
            values=[
                self.env_root,
                "checkpoints",
                step_name,
                checkpoint_digest(request),
                *run_time_objects(request),
            ],
        )

    def data_capture_uri(self, model: str) -> str:
        return f"{self.env_root}/data-capture/{model}"

    # ---- caching ----------------------------------------------------------------------------------
    def data_fingerprint(self, folder: str) -> JsonGet:
        """The SHA-256 of one input folder, read from FingerprintData's fingerprint.json at run time.

        Cached steps carry it in their Environment, which is part of SageMaker's cache key: the same
        files hit the cache, changed files under the same S3 prefix recompute, and a change in another
        folder (one the step does not read) leaves the key alone.
        """
        if folder not in DATA_FOLDERS:
            raise ValueError(f"unknown data folder {folder!r}: FingerprintData hashes {DATA_FOLDERS}")
        return JsonGet(
            step_name=names.FINGERPRINT_DATA,
            property_file=FINGERPRINT_FILE,
            json_path=f"folders.{folder}.sha256",
        )

    def fingerprint_environment(self, folders: tuple[str, ...]) -> dict[str, JsonGet]:
        """The Environment entries that key a cached step on the input folders it reads."""
        if not folders:
            raise ValueError("a cached step must name the input folders it reads (its cache key)")
        return {fingerprint_env_name(folder): self.data_fingerprint(folder) for folder in folders}

    def tracking_environment(self, model: str) -> dict[str, str]:
        """MLFLOW_TRACKING_URI / MLFLOW_EXPERIMENT_NAME for a training or evaluation job of `model`, when
        config names a tracking server and the job can reach it (not under network isolation: such a
        job leaves its output folder, logged afterwards by containers/common/tracking.py)."""
        arn = self.cfg.mlflow.tracking_server_arn
        if not arn or self.cfg.security.network_isolation:
            return {}
        project = self.cfg.project.name
        return {"MLFLOW_TRACKING_URI": arn, "MLFLOW_EXPERIMENT_NAME": f"{project}-{self.cfg.env}-{model}"}

    def cache_config(self) -> CacheConfig:
        return CacheConfig(enable_caching=True, expire_after=self.cfg.cache_expire_after)

    # ---- retries ----------------------------------------------------------------------------------
    def job_retry_policies(self) -> list[Any]:
        """Retry throttling and service faults quickly; capacity and limits with a long back-off."""
        return [
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
                interval_seconds=10,
                backoff_rate=2.0,
                max_attempts=5,
            ),
            SageMakerJobStepRetryPolicy(
                exception_types=[
                    SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                    SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                ],
                interval_seconds=60,
                backoff_rate=2.0,
                max_attempts=3,
            ),
        ]

    def api_retry_policies(self) -> list[Any]:
        """For the register / model / endpoint-config calls: throttling and service faults only."""
        return [
            StepRetryPolicy(
                exception_types=[StepExceptionTypeEnum.THROTTLING, StepExceptionTypeEnum.SERVICE_FAULT],
                interval_seconds=5,
                backoff_rate=2.0,
                max_attempts=5,
            )
        ]

    # ---- security ---------------------------------------------------------------------------------
    def network_config(self) -> dict[str, Any]:
        sec = self.cfg.security
        config: dict[str, Any] = {"EnableNetworkIsolation": sec.network_isolation}
        if sec.subnets:
            config["VpcConfig"] = {
                "SecurityGroupIds": list(sec.security_group_ids),
                "Subnets": list(sec.subnets),
            }
        return config

    def vpc_config(self) -> dict[str, Any] | None:
        sec = self.cfg.security
        if not sec.subnets:
            return None
        return {"SecurityGroupIds": list(sec.security_group_ids), "Subnets": list(sec.subnets)}
