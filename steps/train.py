"""TrainChatbot and TrainLocationClassifier: training jobs run by the DLC training toolkit.

The toolkit downloads `sagemaker_submit_directory` (our content-addressed sourcedir.tar.gz) and runs
`sagemaker_program` with every other hyperparameter as `--key value`. We do not use ModelTrainer's
SourceCode: it uploads SDK driver scripts under a timestamped key on every build, which needs S3 and
changes the definition (and so the cache key) each time. GPU jobs run under torchrun
(`sagemaker_torch_distributed_enabled`): one process per GPU on every instance. Spot training, when
enabled in config, sets MaxWaitTime and a checkpoint S3 URI the script resumes from.
"""

from __future__ import annotations

from typing import Any

from sagemaker.mlops.workflow.steps import StepTypeEnum

from conf.schema import ChatbotConfig, ClassifierConfig
from project.images import device_of
from project.instance_types import takes_ebs_volume
from steps import names
from steps.context import StepContext
from steps.models import spec
from steps.prepare_datasets import split_uri
from steps.request_step import RequestStep

CHECKPOINT_DIR = "/opt/ml/checkpoints"
# With network isolation the container cannot reach S3: the tarball then arrives as the input channel
# `code`, and the toolkit extracts it from this local path instead of downloading it.
CODE_CHANNEL = "code"
ISOLATED_SUBMIT_DIRECTORY = f"/opt/ml/input/data/{CODE_CHANNEL}/sourcedir.tar.gz"


def metric_definitions(model: str) -> list[dict[str, str]]:
    """The lines the script prints (`METRIC name=value step=N`, docs/contracts.md) CloudWatch charts."""
    return [
        {"Name": name, "Regex": f"METRIC {name}=([-+0-9.eE]+|nan|inf)"}
        for name in spec(model).training_metrics
    ]


def _plain(value: Any) -> str:
    """Hyperparameter values are plain strings; booleans as true/false (contracts.md)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hyperparameters(ctx: StepContext, model: str) -> dict[str, Any]:
    """Toolkit keys, the config's hyperparameters, and the per-run ones from Parameters."""
    model_cfg: ChatbotConfig | ClassifierConfig = getattr(ctx.cfg, model)
    params = ctx.params.for_model(model)
    values: dict[str, Any] = {
        "sagemaker_program": spec(model).train_script,
        "sagemaker_submit_directory": (
            ISOLATED_SUBMIT_DIRECTORY
            if ctx.cfg.security.network_isolation
            else ctx.sourcedir_uri_for(spec(model).train_script)
        ),
        "sagemaker_region": ctx.cfg.project.region,
    }
    if device_of(model_cfg.training.instance_type) == "gpu":
        # What the SDK's `distribution={"torch_distributed": {"enabled": True}}` sets: the toolkit then
        # launches torchrun with one process per GPU on every instance.
        values["sagemaker_torch_distributed_enabled"] = "true"
        values["sagemaker_instance_type"] = params.training_instance_type
    values.update({key: _plain(value) for key, value in model_cfg.hyperparameters.model_dump().items()})
    values["model_id"] = params.model_id
    values["epochs"] = params.epochs.to_string()
    values["learning_rate"] = params.learning_rate.to_string()
    if model == "chatbot":
        values["max_steps"] = ctx.params.chatbot_max_steps.to_string()
    return values


def _channel(name: str, uri: Any, content_type: str = "application/jsonlines") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": content_type,
        "InputMode": "File",
    }


def training_request(ctx: StepContext, model: str, prepare_step: RequestStep) -> dict[str, Any]:
    """The CreateTrainingJob request (minus the job name, which the pipeline assigns)."""
    cfg = ctx.cfg
    model_cfg: ChatbotConfig | ClassifierConfig = getattr(cfg, model)
    params = ctx.params.for_model(model)
    step_name = names.MODEL_STEPS[model]["train"]
    data_folder = spec(model).data_folder
    resources: dict[str, Any] = {
        "InstanceType": params.training_instance_type,
        "InstanceCount": params.training_instance_count,
        "VolumeSizeInGB": model_cfg.training.volume_size_gb,
    }
    output: dict[str, Any] = {"S3OutputPath": ctx.run_output(step_name, "model")}
    if cfg.security.kms_key_id:
        output["KmsKeyId"] = cfg.security.kms_key_id
        # NVMe families (ml.g5, ml.p4d...) have no EBS volume: AWS refuses a volume key there, and
        # their local storage is encrypted by the instance (project/instance_types.py).
        if takes_ebs_volume(model_cfg.training.instance_type):
            resources["VolumeKmsKeyId"] = cfg.security.kms_key_id
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": model_cfg.training.max_runtime_s}
    request: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": ctx.images.training[model],
            "TrainingInputMode": "File",
            "MetricDefinitions": metric_definitions(model),
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "RoleArn": cfg.project.role_arn,
        "HyperParameters": hyperparameters(ctx, model),
        "InputDataConfig": [
            _channel("train", split_uri(prepare_step, model, "train")),
            _channel("validation", split_uri(prepare_step, model, "validation")),
        ],
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "EnableNetworkIsolation": cfg.security.network_isolation,
        # The hash of the folder this model is built from is part of the cache key (Environment is),
        # and of the checkpoint path; the other folders' data does not touch either.
        "Environment": {**ctx.fingerprint_environment((data_folder,)), **ctx.tracking_environment(model)},
    }
    if model_cfg.spot.enabled:
        request["EnableManagedSpotTraining"] = True
        stopping["MaxWaitTimeInSeconds"] = max(model_cfg.spot.max_wait_s, model_cfg.training.max_runtime_s)
    if cfg.security.network_isolation:
        code = ctx.sourcedir_uri_for(spec(model).train_script)
        request["InputDataConfig"].append(_channel(CODE_CHANNEL, code, "application/x-tar"))
    vpc = ctx.vpc_config()
    if vpc:
        request["VpcConfig"] = vpc
    # Last: the prefix is keyed on everything above that makes the step's cache key.
    request["CheckpointConfig"] = {
        "S3Uri": ctx.checkpoint_uri(step_name, request),
        "LocalPath": CHECKPOINT_DIR,
    }
    return request


def build_train_step(ctx: StepContext, model: str, prepare_step: RequestStep) -> RequestStep:
    """The training step of `model` ('chatbot' or 'classifier'), cached and retried."""
    return RequestStep(
        names.MODEL_STEPS[model]["train"],
        StepTypeEnum.TRAINING,
        training_request(ctx, model, prepare_step),
        description=spec(model).train_description,
        cache_config=ctx.cache_config(),
        retry_policies=ctx.job_retry_policies(),
    )
