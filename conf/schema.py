"""Typed configuration: what base.yaml and its overlays may contain.

Every model forbids unknown keys, so a typo fails before anything talks to AWS. Per-run knobs become
pipeline Parameters whose defaults come from here; the rest stays in YAML.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from conf.bucket_names import check_bucket_name

INSTANCE_TYPE = re.compile(r"^(ml|local)\.[a-z0-9-]+\.[a-z0-9]+$")
# A KMS key: its id (a UUID, or mrk-... for a multi-Region key), its key ARN, or an alias (name or ARN).
# An alias names the key before the storage stack exists; training volumes need the id or ARN, which
# `make infra-outputs` writes to conf/outputs/<env>.yaml (conf/refusals.py refuses an alias for AWS
# where a training job would get it).
KMS_KEY = re.compile(
    r"^((arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/)?"
    r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"|(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:)?alias/[a-zA-Z0-9/_-]+)$"
)
ROLLOUT = Literal["canary", "linear", "all_at_once"]
APPROVAL = Literal["Approved", "Rejected", "PendingManualApproval"]
ENGINE = Literal["handler", "lmi"]
GPU_FAMILY = re.compile(r"^ml\.(g|p)\d")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_instance_type(value: str) -> str:
    if not INSTANCE_TYPE.match(value):
        raise ValueError(f"{value!r} is not an instance type such as ml.m5.xlarge")
    return value


class ProjectConfig(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{2,40}$")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account_id: str = Field(pattern=r"^\d{12}$", description="AWS account that holds the pipeline")
    bucket: str = Field(description="S3 bucket for code, data and outputs (S3's naming rules apply)")
    prefix: str = Field(description="key prefix under the bucket for everything this project writes")
    role_name: str = Field(
        description="name of the job role: the identity job code and endpoints run as (data access only)"
    )
    pipeline_role_name: str = Field(
        default="StrangerThingsNlpSageMakerPipeline",
        description="name of the pipeline role: creates the jobs, registers, invokes the deploy handler",
    )
    tags: dict[str, str] = Field(default_factory=dict)

    # S3's naming rules, which botocore's shapes do not check (conf/bucket_names.py cites them).
    _valid_bucket = field_validator("bucket")(check_bucket_name)

    @property
    def role_arn(self) -> str:
        """The job role's ARN (every job's RoleArn, the served models' ExecutionRoleArn)."""
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    @property
    def pipeline_role_arn(self) -> str:
        """The pipeline role's ARN (what upsert passes as the pipeline's RoleArn)."""
        return f"arn:aws:iam::{self.account_id}:role/{self.pipeline_role_name}"

    @property
    def s3_root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


class SecurityConfig(Strict):
    kms_key_id: str | None = Field(
        default=None, description="KMS key (id, key ARN or alias) for volumes, outputs and data capture"
    )
    subnets: list[str] = Field(default_factory=list)
    security_group_ids: list[str] = Field(default_factory=list)
    network_isolation: bool = False

    @field_validator("kms_key_id")
    @classmethod
    def _key_id_or_arn(cls, value: str | None) -> str | None:
        if value is not None and not KMS_KEY.match(value):
            raise ValueError(
                f"{value!r} is not a KMS key id, key ARN (arn:aws:kms:<region>:<account>:key/<id>) "
                "or alias (alias/<name>)"
            )
        return value

    @model_validator(mode="after")
    def _vpc_complete(self) -> SecurityConfig:
        if bool(self.subnets) != bool(self.security_group_ids):
            raise ValueError("subnets and security_group_ids must be given together")
        return self


class ComputeConfig(Strict):
    instance_type: str
    instance_count: int = Field(default=1, ge=1, le=100)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_s: int = Field(default=86400, ge=60)

    _valid_type = field_validator("instance_type")(_check_instance_type)


class SpotConfig(Strict):
    enabled: bool = False
    max_wait_s: int = Field(default=172800, ge=60)


class ImagesConfig(Strict):
    """Container images: AWS Deep Learning Containers resolved offline by the SDK, or your own ECR URIs."""

    framework: Literal["huggingface", "pytorch"] = "huggingface"
    pytorch_version: str = "2.6.0"
    transformers_version: str = "4.51.3"
    py_version: str = "py312"
    processing_uri: str | None = None
    training_uri: str | None = None
    inference_uri: str | None = None


class DataConfig(Strict):
    input_uri: str = Field(description="s3:// (or local folder) holding subtitles/, transcripts/, locations/")


class CleaningConfig(Strict):
    min_chars: int = Field(default=1, ge=1)
    max_line_chars: int = Field(default=2000, ge=10)


class EntitiesConfig(Strict):
    window: int = Field(default=5, ge=1, description="co-occurrence window, in utterances")
    ner_model: str | None = Field(default=None, description="optional token-classification model id")
    ner_batch_size: int = Field(default=64, ge=1)
    min_edge_weight: int = Field(default=1, ge=1)


class ThemesConfig(Strict):
    """How ClassifyThemes scores (containers/processing/classify_themes.py): `nli` runs the zero-shot
    MNLI model `model_id`; `lexicon` needs no model (keywords of conf/themes.yaml weighted by the corpus),
    so it carries signal offline, where the only NLI model is a random tiny one."""

    method: Literal["nli", "lexicon"] = "nli"
    model_id: str = Field(description="nli: an MNLI model (Hub id, folder or tiny:nli); lexicon ignores it")
    batch_size: int = Field(default=16, ge=1)
    max_utterances_per_episode: int = Field(default=400, ge=1)


class DatasetsConfig(Strict):
    character: str = "Eleven"
    min_reply_chars: int = Field(default=2, ge=1)
    validation_fraction: float = Field(default=0.1, ge=0.0, lt=0.5)
    test_fraction: float = Field(default=0.1, gt=0.0, lt=0.5)
    seed: int = 42
    rare_labels: Literal["other", "drop", "refuse"] = Field(
        default="other",
        description="a location label with too few rows for every split: merged into `other`, its rows "
        "dropped, or the run refused (containers/processing/locations.py)",
    )


class ChatbotHyperparameters(Strict):
    epochs: float = Field(default=2.0, gt=0)
    max_steps: int = Field(default=-1, ge=-1)
    learning_rate: float = Field(default=2e-4, gt=0)
    per_device_batch_size: int = Field(default=4, ge=1)
    gradient_accumulation_steps: int = Field(default=4, ge=1)
    max_seq_length: int = Field(default=1024, ge=32)
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    load_in_4bit: bool = False
    gradient_checkpointing: bool | Literal["auto"] = Field(
        default="auto", description="auto: on only when the memory estimate says the step would not fit"
    )
    packing: bool = True
    merge: bool = True
    save_steps: int = Field(default=100, ge=1)
    pretrain_steps: int = Field(default=0, ge=0, description="tiny models only: full-parameter warm-up")
    seed: int = 42


class ClassifierHyperparameters(Strict):
    epochs: float = Field(default=5.0, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    per_device_batch_size: int = Field(default=16, ge=1)
    max_seq_length: int = Field(default=256, ge=16)
    early_stopping_patience: int = Field(default=2, ge=1)
    seed: int = 42


GATE_DESCRIPTION = (
    "the quality gate: {figure: minimum}, every figure of the evaluation report "
    "(containers/evaluation/report.py) must reach its minimum; a *_lift minimum must be above 0"
)


def _gate(model: str, minimums: dict[str, float]) -> dict[str, float]:
    """A gate compares at least one figure, and no lift minimum lets the baseline itself through.

    Whether each figure exists is checked against the report schema where the gate is built
    (steps/parameters.py, `report.check_gate`): conf imports no other package of the project.
    """
    if not minimums:
        raise ValueError(f"the {model} gate needs at least one figure and its minimum")
    for name, minimum in minimums.items():
        if name.endswith("_lift") and minimum <= 0:
            raise ValueError(f"{name} minimum is {minimum}; it must be above 0 or the baseline itself passes")
    return dict(minimums)


class ContinuousRange(Strict):
    """A real-valued hyperparameter range (ContinuousParameterRanges)."""

    kind: Literal["continuous"] = "continuous"
    min: float
    max: float
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = "Auto"


class IntegerRange(Strict):
    """An integer hyperparameter range (IntegerParameterRanges)."""

    kind: Literal["integer"] = "integer"
    min: int
    max: int
    scaling: Literal["Auto", "Linear", "Logarithmic"] = "Auto"  # no ReverseLogarithmic for integers


class CategoricalRange(Strict):
    """A hyperparameter chosen among values (CategoricalParameterRanges): at most 30 values."""

    kind: Literal["categorical"] = "categorical"
    values: list[str] = Field(min_length=1, max_length=30)


ParameterRange = Annotated[ContinuousRange | IntegerRange | CategoricalRange, Field(discriminator="kind")]


class TuningObjective(Strict):
    metric: str = Field(description="a METRIC line of the training script (its MetricDefinitions)")
    type: Literal["Maximize", "Minimize"] = "Maximize"


class TuningConfig(Strict):
    """Hyperparameter tuning of one model: a Bayesian tuning job replaces its training step when enabled.

    Budgets as CreateHyperParameterTuningJob bounds them (ResourceLimits: 1-500 training jobs, at most 100
    at once). `warm_start_from` names a completed tuning job of the same model to start from (empty: none);
    a run may name another with the <Model>WarmStartTuningJob parameter, which exists only when set here
    (the service refuses an empty parent name, and a static definition cannot drop WarmStartConfig per run).
    """

    enabled: bool = False
    strategy: Literal["Bayesian"] = "Bayesian"
    objective: TuningObjective
    max_jobs: int = Field(default=10, ge=1, le=500)
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    early_stopping: Literal["Auto", "Off"] = "Auto"
    warm_start_from: str = Field(default="", pattern=r"^$|^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
    warm_start_type: Literal["IdenticalDataAndAlgorithm", "TransferLearning"] = "IdenticalDataAndAlgorithm"
    ranges: dict[str, ParameterRange] = Field(min_length=1)

    @model_validator(mode="after")
    def _budgets_and_ranges(self) -> TuningConfig:
        if self.max_parallel_jobs > self.max_jobs:
            raise ValueError(
                f"max_parallel_jobs ({self.max_parallel_jobs}) exceeds max_jobs ({self.max_jobs})"
            )
        for name, bounds in self.ranges.items():
            if isinstance(bounds, CategoricalRange):
                continue
            if bounds.min >= bounds.max:
                raise ValueError(f"ranges.{name}: min ({bounds.min}) must be below max ({bounds.max})")
            if bounds.scaling in ("Logarithmic", "ReverseLogarithmic") and bounds.min <= 0:
                raise ValueError(f"ranges.{name}: {bounds.scaling} scaling needs min > 0")
            if bounds.scaling == "ReverseLogarithmic" and bounds.max >= 1:
                raise ValueError(f"ranges.{name}: ReverseLogarithmic scaling needs max < 1")
        return self


def _check_tuned_names(tuning: TuningConfig | None, hyperparameters: BaseModel) -> None:
    """Tuned names must be hyperparameters of the model: a typo would tune a flag the script ignores."""
    if tuning is None:
        return
    known = set(type(hyperparameters).model_fields)
    unknown = sorted(set(tuning.ranges) - known)
    if unknown:
        raise ValueError(f"tuning.ranges: {unknown} are not hyperparameters of this model ({sorted(known)})")


class TransformConfig(Strict):
    """The batch transform of the registered classifier over every subtitle line (steps/transform.py)."""

    enabled: bool = False
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    max_concurrent_transforms: int = Field(default=1, ge=1, le=100)

    _valid_type = field_validator("instance_type")(_check_instance_type)


class ServerlessServingConfig(Strict):
    """A serverless endpoint instead of instances (model_registry/serverless.py): memory and concurrency.

    Bounds as AWS's ProductionVariantServerlessConfig documents them (MemorySizeInMB 1024-6144 in 1 GB
    steps; MaxConcurrency and ProvisionedConcurrency 1-200, provisioned at most the maximum):
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantServerlessConfig.html
    What a serverless endpoint cannot have (GPU, capture, VPC, isolation) is refused in conf/refusals.py.
    """

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144]
    max_concurrency: int = Field(ge=1, le=200, description="invocations at once; more are throttled")
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, le=200, description="warm capacity kept ready (billed while provisioned)"
    )

    @model_validator(mode="after")
    def _provisioned_within_max(self) -> ServerlessServingConfig:
        if self.provisioned_concurrency is not None and self.provisioned_concurrency > self.max_concurrency:
            raise ValueError(
                f"provisioned_concurrency ({self.provisioned_concurrency}) exceeds max_concurrency "
                f"({self.max_concurrency}); AWS requires ProvisionedConcurrency <= MaxConcurrency"
            )
        return self


class ServingConfig(Strict):
    instance_type: str
    initial_instance_count: int = Field(default=1, ge=1)
    strategy: ROLLOUT | None = Field(
        default=None,
        description="blue/green traffic shifting; unset: all_at_once for one instance, canary from two",
    )
    step_percent: int = Field(default=10, ge=1, le=50, description="canary size or linear step, in %")
    allowed_instance_types: list[str]
    data_capture_percentage: int = Field(default=100, ge=0, le=100)
    max_new_tokens: int = Field(default=128, ge=1)
    max_input_tokens: int = Field(default=1024, ge=1)
    serverless: ServerlessServingConfig | None = Field(
        default=None,
        description="serve on a serverless endpoint (classifier only); instance_type then only picks the "
        "CPU image",
    )
    engine: ENGINE = Field(
        default="handler",
        description="handler: our code/inference.py on the project image; lmi: AWS's Large Model Inference "
        "container with vLLM on the merged model (chatbot only, GPU instances)",
    )
    lmi_version: str = Field(
        default="0.36.0",
        pattern=r"^\d+\.\d+\.\d+$",
        description="engine lmi: the LMI (djl-inference) release, as in the SageMaker SDK's djl-lmi table",
    )
    lmi_max_batch_size: int = Field(
        default=64, ge=1, le=1024, description="engine lmi: the most sequences vLLM decodes at once"
    )

    @field_validator("instance_type")
    @classmethod
    def _it(cls, value: str) -> str:
        return _check_instance_type(value)

    @property
    def rollout_strategy(self) -> str:
        """The strategy in force: the configured one, or the one that fits the fleet size."""
        if self.strategy is not None:
            return self.strategy
        if self.serverless is not None:  # no instances to step through: all at once, then the canary
            return "all_at_once"
        return "all_at_once" if self.initial_instance_count == 1 else "canary"

    @field_validator("allowed_instance_types")
    @classmethod
    def _allowed(cls, values: list[str]) -> list[str]:
        return [_check_instance_type(v) for v in values]


class ChatbotConfig(Strict):
    model_id: str
    training: ComputeConfig
    spot: SpotConfig = SpotConfig()
    hyperparameters: ChatbotHyperparameters = ChatbotHyperparameters()
    tuning: TuningConfig | None = None
    evaluation_max_new_tokens: int = Field(default=48, ge=1)
    gate: dict[str, float] = Field(description=GATE_DESCRIPTION)
    serving: ServingConfig

    @field_validator("gate")
    @classmethod
    def _gate(cls, value: dict[str, float]) -> dict[str, float]:
        return _gate("chatbot", value)

    @model_validator(mode="after")
    def _tuned_names(self) -> ChatbotConfig:
        _check_tuned_names(self.tuning, self.hyperparameters)
        return self

    @model_validator(mode="after")
    def _lmi_needs_merged_weights_and_gpus(self) -> ChatbotConfig:
        """LMI's vLLM backend loads one merged model and runs on CUDA GPUs only (LMI user guide, "vLLM":
        https://docs.djl.ai/docs/serving/serving/docs/lmi/user_guides/vllm_user_guide.html)."""
        if self.serving.engine != "lmi":
            return self
        if not self.hyperparameters.merge:
            raise ValueError(
                "chatbot.serving.engine lmi serves merged/: set chatbot.hyperparameters.merge true"
            )
        cpu = [
            t
            for t in [self.serving.instance_type, *self.serving.allowed_instance_types]
            if not GPU_FAMILY.match(t)
        ]
        if cpu:
            raise ValueError(
                f"chatbot.serving.engine lmi (vLLM) needs GPU instances (ml.g5/ml.g6/ml.p4d...); "
                f"chatbot.serving names {', '.join(cpu)}"
            )
        return self


class ClassifierConfig(Strict):
    model_id: str
    training: ComputeConfig
    spot: SpotConfig = SpotConfig()
    hyperparameters: ClassifierHyperparameters = ClassifierHyperparameters()
    tuning: TuningConfig | None = None
    transform: TransformConfig = TransformConfig()
    gate: dict[str, float] = Field(description=GATE_DESCRIPTION)
    serving: ServingConfig

    @field_validator("gate")
    @classmethod
    def _gate(cls, value: dict[str, float]) -> dict[str, float]:
        return _gate("classifier", value)

    @model_validator(mode="after")
    def _tuned_names(self) -> ClassifierConfig:
        _check_tuned_names(self.tuning, self.hyperparameters)
        return self

    @model_validator(mode="after")
    def _handler_only(self) -> ClassifierConfig:
        if self.serving.engine != "handler":
            raise ValueError("classifier.serving.engine must be handler (LMI serves text generation models)")
        return self


class RegistryConfig(Strict):
    approval_status: APPROVAL = "PendingManualApproval"
    chatbot_group: str
    classifier_group: str


class ScheduleConfig(Strict):
    enabled: bool = False
    cron: str = Field(pattern=r"^cron\(.+\)$", description="EventBridge Scheduler cron expression")
    timezone: str = "UTC"


class MonitoringConfig(Strict):
    """The drift monitoring job (containers/monitoring/) and what reads its figures.

    Each window of `window_hours` of captured traffic is compared with the model's baseline; each drift
    check's false-positive rate is `alpha` (drift.py), windows under `min_window` records are not checked.
    Figures go to CloudWatch under `metric_namespace`; the dashboard and the violations alarm read them.
    """

    cron: str = Field(default="cron(15 * * * ? *)", pattern=r"^cron\(.+\)$")
    window_hours: int = Field(default=1, ge=1, le=168)
    alpha: float = Field(default=0.001, gt=0, lt=0.5)
    min_window: int = Field(default=20, ge=1)
    metric_namespace: str = Field(
        default="StrangerThingsNlp/Monitoring", pattern=r"^[A-Za-z0-9/_.#:-]{1,255}$"
    )


class MlflowConfig(Strict):
    """Experiment tracking on SageMaker managed MLflow (the tracking server lives in the infra stacks).

    Set `tracking_server_arn` and the pipeline carries MlflowConfig, and the training and evaluation jobs
    get MLFLOW_TRACKING_URI (the ARN: the sagemaker-mlflow plugin resolves it) unless network isolation
    is on: an isolated job cannot reach the server, its output folder is logged afterwards instead.
    """

    tracking_server_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-(app|tracking-server)/.+$",
    )
    artifact_store_uri: str | None = Field(default=None, pattern=r"^s3://[^/]+(/.*)?$")
    create_server: bool = Field(
        default=False,
        description="the operations stack creates the tracking server tracking_server_arn names "
        "(artifact_store_uri is its store); false: the server exists already, the stacks only grant on it",
    )
    server_size: Literal["Small", "Medium", "Large"] = "Small"

    @model_validator(mode="after")
    def _server_to_create(self) -> MlflowConfig:
        if self.create_server and not (
            self.tracking_server_arn
            and ":mlflow-tracking-server/" in self.tracking_server_arn
            and self.artifact_store_uri
        ):
            raise ValueError(
                "create_server needs tracking_server_arn (an mlflow-tracking-server ARN: the server's "
                "name is its last part) and artifact_store_uri (the server's artifact store)"
            )
        return self


class DeploymentConfig(Strict):
    """Waits and rollback alarms of every endpoint; the strategy is per endpoint (serving.strategy)."""

    wait_interval_s: int = Field(default=300, ge=0)
    alarm_latency_ms: int = Field(default=2000, ge=1)
    alarm_5xx_count: int = Field(default=5, ge=1)


class DeliveryConfig(Strict):
    """Where delivery comes from: the GitHub repository whose workflows may assume the deploy role."""

    github_repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="owner/name; unset: make deploy-infra skips the delivery stack",
    )


class Config(Strict):
    env: str
    project: ProjectConfig
    security: SecurityConfig = SecurityConfig()
    images: ImagesConfig = ImagesConfig()
    data: DataConfig
    processing: ComputeConfig
    cleaning: CleaningConfig = CleaningConfig()
    entities: EntitiesConfig = EntitiesConfig()
    themes: ThemesConfig
    datasets: DatasetsConfig = DatasetsConfig()
    chatbot: ChatbotConfig
    classifier: ClassifierConfig
    registry: RegistryConfig
    schedule: ScheduleConfig
    deployment: DeploymentConfig = DeploymentConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    mlflow: MlflowConfig = MlflowConfig()
    cache_expire_after: str = Field(default="P30D", pattern=r"^P")
