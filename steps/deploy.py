"""CreateXModel -> XEndpointConfig (data capture on) -> DeployX: the environment's endpoint of a model.

The endpoint name is stable per environment and model (`<project>-<env>-<model>`): the Endpoint step
creates it the first time and updates it to the new config afterwards. Endpoint configs are named per
execution, because a config cannot be changed in place.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.mlops.workflow.steps import StepTypeEnum

from model_registry import naming
from steps import names
from steps.context import StepContext
from steps.register import serving_environment
from steps.request_step import RequestStep
from steps.tune import model_artifacts

JSON = "application/json"


def endpoint_name(ctx: StepContext, model: str) -> str:
    """The environment's endpoint of `model`: the name the deploy handler updates too (one source)."""
    return naming.endpoint_name(ctx.cfg.project.name, model, ctx.cfg.env)


def model_request(ctx: StepContext, model: str, train_step: RequestStep) -> dict[str, Any]:
    """CreateModel: the same image, artifacts and environment as the registered package."""
    request: dict[str, Any] = {
        "ExecutionRoleArn": ctx.cfg.project.role_arn,
        "PrimaryContainer": {
            "Image": ctx.images.inference[model],
            "ModelDataUrl": model_artifacts(ctx, train_step),
            "Environment": serving_environment(ctx, model),
        },
        "EnableNetworkIsolation": ctx.cfg.security.network_isolation,
    }
    vpc = ctx.vpc_config()
    if vpc:
        request["VpcConfig"] = vpc
    return request


def endpoint_config_request(ctx: StepContext, model: str, model_step: RequestStep) -> dict[str, Any]:
    serving = getattr(ctx.cfg, model).serving
    capture: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": serving.data_capture_percentage,
        "DestinationS3Uri": ctx.data_capture_uri(model),
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": [JSON]},
    }
    if ctx.cfg.security.kms_key_id:
        capture["KmsKeyId"] = ctx.cfg.security.kms_key_id
    return {
        "EndpointConfigName": Join(
            on="-", values=[endpoint_name(ctx, model), ExecutionVariables.PIPELINE_EXECUTION_ID]
        ),
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": model_step.properties.ModelName,
                "InitialInstanceCount": serving.initial_instance_count,
                "InstanceType": ctx.params.for_model(model).endpoint_instance_type,
            }
        ],
        "DataCaptureConfig": capture,
    }


def build_deploy_steps(
    ctx: StepContext, model: str, train_step: RequestStep, register_step: RequestStep
) -> list[RequestStep]:
    """[CreateModel, EndpointConfig, Endpoint] for `model`, after its registration succeeded."""
    step_names = names.MODEL_STEPS[model]
    model_step = RequestStep(
        step_names["model"],
        StepTypeEnum.CREATE_MODEL,
        model_request(ctx, model, train_step),
        description=f"The {model} as a SageMaker Model (registered image, artifacts and environment)",
        retry_policies=ctx.api_retry_policies(),
        depends_on=[register_step],
    )
    config_step = RequestStep(
        step_names["endpoint_config"],
        StepTypeEnum.ENDPOINT_CONFIG,
        endpoint_config_request(ctx, model, model_step),
        description=f"Endpoint config of the {model}, data capture on",
    )
    endpoint_step = RequestStep(
        step_names["deploy"],
        StepTypeEnum.ENDPOINT,
        {
            "EndpointName": endpoint_name(ctx, model),
            "EndpointConfigName": config_step.properties.EndpointConfigName,
        },
        description=f"Create or update the {ctx.cfg.env} endpoint of the {model}",
    )
    return [model_step, config_step, endpoint_step]
