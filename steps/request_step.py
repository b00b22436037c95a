"""A pipeline step whose Arguments are an explicit SageMaker API request.

Why not the SDK's ProcessingStep / TrainingStep / ModelStep: in SDK v3 they only accept `step_args`
captured from `Processor.run()`, `ModelTrainer.train()` or `ModelBuilder.register()`. Those calls upload
code under timestamped keys (changing the definition on every build and defeating step caching), reach
S3 for the default bucket, and start telemetry threads. Building the request ourselves keeps the
definition offline and byte-stable, and it is exactly the shape that the tests validate against
botocore's service model. Everything else (Properties, JsonGet, PropertyFile, conditions, the compiler
that orders steps) is the SDK's.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.workflow.properties import Properties, PropertyFile
from sagemaker.mlops.workflow.retry import RetryPolicy
from sagemaker.mlops.workflow.steps import CacheConfig, ConfigurableRetryStep, StepTypeEnum

# The Describe* shapes whose fields a step's `properties` expose (what `Get: Steps.X....` may read). A
# Tuning step exposes two, as the SDK's TuningStep does (sagemaker.mlops.workflow.steps.TuningStep).
PROPERTY_SHAPES: dict[StepTypeEnum, tuple[str, ...]] = {
    StepTypeEnum.PROCESSING: ("DescribeProcessingJobResponse",),
    StepTypeEnum.TRAINING: ("DescribeTrainingJobResponse",),
    StepTypeEnum.TUNING: (
        "DescribeHyperParameterTuningJobResponse",
        "ListTrainingJobsForHyperParameterTuningJobResponse",
    ),
    StepTypeEnum.TRANSFORM: ("DescribeTransformJobResponse",),
    StepTypeEnum.REGISTER_MODEL: ("DescribeModelPackageOutput",),
    StepTypeEnum.CREATE_MODEL: ("DescribeModelOutput",),
    StepTypeEnum.ENDPOINT_CONFIG: ("DescribeEndpointConfigOutput",),
    StepTypeEnum.ENDPOINT: ("DescribeEndpointOutput",),
}

# Step types that take retry policies, of those a RequestStep builds: AWS lists Processing, Training,
# Tuning, AutoML, Create model, Register model, Transform and Notebook job steps
# (https://docs.aws.amazon.com/sagemaker/latest/dg/pipelines-retry-policy.html); EndpointConfig and
# Endpoint steps are not among them.
RETRYABLE = {
    StepTypeEnum.PROCESSING,
    StepTypeEnum.TRAINING,
    StepTypeEnum.TUNING,
    StepTypeEnum.TRANSFORM,
    StepTypeEnum.REGISTER_MODEL,
    StepTypeEnum.CREATE_MODEL,
}


class RequestStep(ConfigurableRetryStep):
    """A step of `step_type` whose Arguments are `request` (an API request with pipeline expressions)."""

    def __init__(
        self,
        name: str,
        step_type: StepTypeEnum,
        request: dict[str, Any],
        *,
        description: str | None = None,
        cache_config: CacheConfig | None = None,
        retry_policies: list[RetryPolicy] | None = None,
        property_files: list[PropertyFile] | None = None,
        depends_on: list[Any] | None = None,
    ) -> None:
        if step_type not in PROPERTY_SHAPES:
            raise ValueError(f"{name}: RequestStep does not support step type {step_type.value}")
        if retry_policies and step_type not in RETRYABLE:
            raise ValueError(f"{name}: {step_type.value} steps cannot have retry policies")
        if property_files and step_type is not StepTypeEnum.PROCESSING:
            raise ValueError(f"{name}: only Processing steps write property files")
        super().__init__(name, step_type, None, description, depends_on, retry_policies)
        self._request = request
        self.cache_config = cache_config
        self.property_files = property_files or []
        shapes = PROPERTY_SHAPES[step_type]
        self._properties = (
            Properties(step_name=name, step=self, shape_name=shapes[0])
            if len(shapes) == 1
            else Properties(step_name=name, step=self, shape_names=list(shapes))
        )

    @property
    def arguments(self) -> dict[str, Any]:
        return self._request

    @property
    def properties(self) -> Properties:
        return self._properties

    def to_request(self) -> dict[str, Any]:
        request = super().to_request()
        if self.cache_config:
            request.update(self.cache_config.config)
        if self.property_files:
            request["PropertyFiles"] = [file.expr for file in self.property_files]
        return request
