"""RegisterChatbot / RegisterClassifier: a model package version in the model's group.

Approval status from the ModelApprovalStatus parameter; ModelMetrics point at evaluation.json;
DriftCheckBaselines.ModelDataQuality at the drift monitoring baseline (statistics.json, constraints.json
of steps/baseline.py), so the version carries what its endpoint's monitoring compares with; the
inference spec names the serving image, its environment and the instance types it may run on; the
ModelCard (steps/model_card.py) says what the version is for, what it learned from and how it scored.
"""

from __future__ import annotations

import re
from typing import Any

from sagemaker.mlops.workflow.steps import StepTypeEnum

from conf.schema import ChatbotConfig, ClassifierConfig
from model_registry.monitoring_schedule import CODE_URI_KEY, IMAGE_URI_KEY
from model_registry.settings import group_of
from steps import names
from steps.baseline import CONSTRAINTS_FILE, STATISTICS_FILE, baseline_uri
from steps.context import StepContext
from steps.evaluate import report_uri
from steps.model_card import model_card
from steps.models import spec
from steps.request_step import RequestStep
from steps.tune import model_artifacts

JSON = "application/json"
LMI_MODEL_ROOT = "/opt/ml/model"
MONITOR_SCRIPT = "monitoring/monitor.py"


def lmi_environment(ctx: StepContext) -> dict[str, str]:
    """LMI's configuration as environment variables ("Container and Model Configurations",
    https://docs.djl.ai/docs/serving/serving/docs/lmi/deployment_guide/configurations.html: `option.<x>`
    is OPTION_<X>, `option.model_id` may be HF_MODEL_ID, `option.tensor_parallel_degree`
    TENSOR_PARALLEL_DEGREE). SageMaker unpacks model.tar.gz into /opt/ml/model, so the merged weights (with
    their tokenizer and chat template, see train_chatbot.save_serving_tokenizer) are at /opt/ml/model/merged.
    """
    serving = ctx.cfg.chatbot.serving
    return {
        "HF_MODEL_ID": f"{LMI_MODEL_ROOT}/merged",
        "OPTION_ROLLING_BATCH": "vllm",  # continuous batching with vLLM's paged KV cache
        "OPTION_DTYPE": "bf16",  # as trained (g5 and newer support bf16)
        "TENSOR_PARALLEL_DEGREE": "max",  # every GPU of the instance
        "OPTION_MAX_ROLLING_BATCH_SIZE": str(serving.lmi_max_batch_size),
        # The longest sequence vLLM reserves KV cache for: the largest prompt plus the largest reply.
        "OPTION_MAX_MODEL_LEN": str(serving.max_input_tokens + serving.max_new_tokens),
        # Read by the project's clients (lmi_adapter) to cap max_tokens, as the handler caps max_new_tokens.
        "MAX_NEW_TOKENS": str(serving.max_new_tokens),
        "SAGEMAKER_REGION": ctx.cfg.project.region,
    }


def serving_environment(ctx: StepContext, model: str) -> dict[str, str]:
    """What the inference container needs: our handler (code/inference.py inside model.tar.gz) and caps,
    or LMI's settings when the model is served by LMI."""
    serving = getattr(ctx.cfg, model).serving
    if serving.engine == "lmi":
        return lmi_environment(ctx)
    return {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": ctx.cfg.project.region,
        "MAX_NEW_TOKENS": str(serving.max_new_tokens),
        "MAX_INPUT_TOKENS": str(serving.max_input_tokens),
    }


# botocore's CustomerMetadataMap (sagemaker service-2.json, "CustomerMetadataKey"/"CustomerMetadataValue"):
# at most 50 entries, keys 1-128 and values 1-256 characters of letters, digits, spaces and `_.:/=+-@`.
METADATA_VALUE_PATTERN = re.compile(r"^[\w .:/=+\-@]{1,256}$")


def monitoring_metadata(ctx: StepContext) -> dict[str, str]:
    """The drift monitoring job's code bundle and image as model package metadata.

    The job runs containers/monitoring/monitor.py from its own content-addressed bundle (upsert uploads
    every entry script's bundle) on the processing image: it loads no model, so it needs neither torch
    nor the evaluation image the classifier's baseline step runs on."""
    metadata = {
        CODE_URI_KEY: ctx.code_uri_for(MONITOR_SCRIPT),
        IMAGE_URI_KEY: ctx.images.processing,
    }
    for key, value in metadata.items():
        if not METADATA_VALUE_PATTERN.match(value):
            raise ValueError(
                f"CustomerMetadataProperties[{key!r}] = {value!r} breaks SageMaker's limits (1-256 "
                "characters of letters, digits, spaces and _.:/=+-@): shorten the prefix or image"
            )
    return metadata


def register_request(
    ctx: StepContext,
    model: str,
    train_step: RequestStep,
    evaluate_step: RequestStep,
    baseline_step: RequestStep,
) -> dict[str, Any]:
    """The CreateModelPackage request for one version of `model`."""
    model_cfg: ChatbotConfig | ClassifierConfig = getattr(ctx.cfg, model)
    return {
        "ModelPackageGroupName": group_of(ctx.cfg, model),
        "ModelPackageDescription": f"{model} trained by the {ctx.cfg.project.name} pipeline ({ctx.cfg.env})",
        "ModelApprovalStatus": ctx.params.model_approval_status,
        "InferenceSpecification": {
            "Containers": [
                {
                    "Image": ctx.images.inference[model],
                    "ModelDataUrl": model_artifacts(ctx, train_step),
                    "Environment": serving_environment(ctx, model),
                }
            ],
            "SupportedContentTypes": [JSON],
            "SupportedResponseMIMETypes": [JSON],
            "SupportedRealtimeInferenceInstanceTypes": list(model_cfg.serving.allowed_instance_types),
        },
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": JSON, "S3Uri": report_uri(evaluate_step)}}
        },
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {"ContentType": JSON, "S3Uri": baseline_uri(baseline_step, STATISTICS_FILE)},
                "Constraints": {"ContentType": JSON, "S3Uri": baseline_uri(baseline_step, CONSTRAINTS_FILE)},
            }
        },
        "CustomerMetadataProperties": {
            "code_sha12": ctx.code_sha12,
            # The hash of the input folder this model was built from (e.g. transcripts_sha256).
            f"{spec(model).data_folder}_sha256": ctx.data_fingerprint(spec(model).data_folder),
            "environment": ctx.cfg.env,
            # How to monitor this version, which the deploy handler cannot know (model_registry/
            # monitoring_schedule.py): the drift job's code bundle (content-addressed, it changes with
            # the code) and image. Within the map's limits, checked by monitoring_metadata().
            **monitoring_metadata(ctx),
            # The serving engine, only when it is not the default handler (so a default definition is
            # unchanged): the deploy and the app read it to speak LMI's schema.
            **({"serving_engine": model_cfg.serving.engine} if model_cfg.serving.engine != "handler" else {}),
        },
        "ModelCard": model_card(ctx, model, train_step, evaluate_step),
    }


def build_register_step(
    ctx: StepContext,
    model: str,
    train_step: RequestStep,
    evaluate_step: RequestStep,
    baseline_step: RequestStep,
) -> RequestStep:
    return RequestStep(
        names.MODEL_STEPS[model]["register"],
        StepTypeEnum.REGISTER_MODEL,
        register_request(ctx, model, train_step, evaluate_step, baseline_step),
        description=f"Register the {model} version (metrics, serving image, allowed instance types)",
        retry_policies=ctx.api_retry_policies(),
    )
