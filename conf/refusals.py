"""Settings that load as valid YAML but that AWS, or the jobs, would refuse: caught when the config loads.

Field-level checks live on the models in conf/schema.py. These need more than one field (the
fleet size and its rollout, network isolation and the model ids), or the purpose of the load: the
placeholder account and bucket of base.yaml are fine for an offline definition, never for a call to AWS.
Each refusal names the dotted key to change; conf/__init__.py adds the file that set it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from conf.schema import Config

# Where AWS documents what a serverless endpoint cannot have (model_registry/serverless.py has the rest).
SERVERLESS_EXCLUSIONS = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html"
GPU_FAMILY_PREFIXES = ("ml.p", "ml.g", "ml.inf", "ml.trn")

# base.yaml ships these so the definition builds offline; neither may reach AWS. 123456789012 is the
# account id AWS's own documentation uses in examples; S3 bucket names are global, so the default
# bucket name may belong to someone else.
PLACEHOLDER_ACCOUNT_ID = "123456789012"
PLACEHOLDER_BUCKET = "stranger-things-nlp-artifacts"
# Model references that need no network inside the job: an S3 URI, a folder baked into the image
# (an absolute path), or a tiny model built from config (containers/common/tiny_models.py).
OFFLINE_MODEL_PREFIXES = ("s3://", "/", "tiny:")
MODEL_KEYS = ("chatbot.model_id", "classifier.model_id", "themes.model_id", "entities.ner_model")


@dataclass(frozen=True)
class Refusal:
    """One setting to change: its dotted key and what is wrong with it, in one line."""

    key: str
    message: str


def _get(cfg: Config, dotted: str) -> object:
    value: object = cfg
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def rollout_refusals(cfg: Config) -> list[Refusal]:
    """A canary or linear rollout the endpoint's fleet cannot hold.

    AWS TrafficRoutingConfig: CanarySize is at most 50% of the variant's instances; LinearStepSize is
    10-50% of them. A step is at least one instance, so one instance can only shift all at once.
    """
    refusals = []
    for model in ("chatbot", "classifier"):
        serving = getattr(cfg, model).serving
        if serving.serverless is not None:
            continue  # no fleet: serverless_refusals refuses any canary or linear step
        count, strategy = serving.initial_instance_count, serving.rollout_strategy
        step = max(1, math.ceil(count * serving.step_percent / 100))
        if strategy == "canary" and step > count / 2:
            refusals.append(
                Refusal(
                    f"{model}.serving.strategy",
                    f"a canary of {serving.step_percent}% is {step} of {count} instance(s), more than half "
                    "the fleet (AWS CanarySize <= 50%): use all_at_once for one instance, or raise "
                    "initial_instance_count",
                )
            )
        if strategy == "linear" and not (0.1 * count <= step <= count / 2):
            refusals.append(
                Refusal(
                    f"{model}.serving.strategy",
                    f"a linear step of {serving.step_percent}% is {step} of {count} instance(s); AWS "
                    "LinearStepSize must be 10-50% of the fleet: use all_at_once or more instances",
                )
            )
    return refusals


def serving_refusals(cfg: Config) -> list[Refusal]:
    """An endpoint type the registered version does not declare.

    RegisterX declares `<model>.serving.allowed_instance_types` as the package's
    SupportedRealtimeInferenceInstanceTypes (API_InferenceSpecification); the deploy handler serves on
    `<model>.serving.instance_type`, for the pipeline's deploy step and approvals alike. The pipeline no
    longer holds an EndpointConfig for the service rules to compare (pipelines/service_rules.py
    rule_serving_types_registered), so the two are compared here.
    """
    refusals = []
    for model in ("chatbot", "classifier"):
        serving = getattr(cfg, model).serving
        if serving.instance_type not in serving.allowed_instance_types:
            refusals.append(
                Refusal(
                    f"{model}.serving.instance_type",
                    f"{serving.instance_type} is not among {model}.serving.allowed_instance_types "
                    f"({', '.join(serving.allowed_instance_types)}), the types its registered versions "
                    "declare: add it there or serve on one of them",
                )
            )
    return refusals


def serverless_refusals(cfg: Config) -> list[Refusal]:
    """A serverless endpoint that AWS would refuse, or that would silently drop a guardrail.

    SERVERLESS_EXCLUSIONS (Feature exclusions): no GPUs, no data capture, no VPC configuration, no network
    isolation. The chatbot is a GPU LLM, so it never goes serverless. Blue/green canary and linear steps
    are fractions of an instance fleet (API_TrafficRoutingConfig), which a serverless variant has none of.
    """
    refusals = []
    for model in ("chatbot", "classifier"):
        serving = getattr(cfg, model).serving
        if serving.serverless is None:
            continue
        key = f"{model}.serving"
        if model == "chatbot":
            refusals.append(
                Refusal(
                    f"{key}.serverless",
                    "the chatbot is an LLM served on a GPU; serverless endpoints have no GPU and at most "
                    f"6 GB of memory ({SERVERLESS_EXCLUSIONS}): serve it on instances",
                )
            )
        if serving.instance_type.startswith(GPU_FAMILY_PREFIXES):
            refusals.append(
                Refusal(
                    f"{key}.instance_type",
                    f"{serving.instance_type} picks a GPU image, but serverless endpoints run on CPU "
                    f"({SERVERLESS_EXCLUSIONS}): use a CPU type such as ml.m5.xlarge",
                )
            )
        if serving.data_capture_percentage > 0:
            refusals.append(
                Refusal(
                    f"{key}.data_capture_percentage",
                    f"{serving.data_capture_percentage}%, but serverless endpoints capture no data "
                    f"({SERVERLESS_EXCLUSIONS}): set it to 0 to say so, or serve on instances",
                )
            )
        if serving.strategy in ("canary", "linear"):
            refusals.append(
                Refusal(
                    f"{key}.strategy",
                    f"a {serving.strategy} rollout steps through instances, and a serverless endpoint has "
                    "none: leave it unset (the handler switches at once and runs its own canary request)",
                )
            )
        if cfg.security.network_isolation:
            refusals.append(
                Refusal(
                    "security.network_isolation",
                    f"serverless endpoints cannot isolate the model's network ({SERVERLESS_EXCLUSIONS}): "
                    f"turn it off or serve {model} on instances",
                )
            )
        if cfg.security.subnets:
            refusals.append(
                Refusal(
                    "security.subnets",
                    f"serverless endpoints cannot run in a VPC ({SERVERLESS_EXCLUSIONS}): serve {model} "
                    "on instances, or leave subnets and security_group_ids empty",
                )
            )
    return refusals


def isolation_refusals(cfg: Config) -> list[Refusal]:
    """With network isolation a job cannot download from the Hugging Face Hub."""
    if not cfg.security.network_isolation:
        return []
    return [
        Refusal(
            key,
            f"{value!r} is a Hub id, but security.network_isolation blocks downloads inside the jobs: "
            "use an s3:// URI or a folder baked into the image (an absolute path)",
        )
        for key in MODEL_KEYS
        if isinstance(value := _get(cfg, key), str) and not value.startswith(OFFLINE_MODEL_PREFIXES)
    ]


def aws_refusals(cfg: Config) -> list[Refusal]:
    """Placeholders that must not reach AWS (any environment but local)."""
    if cfg.env == "local":
        return []
    overlay = f"conf/{cfg.env}.yaml"
    project = cfg.project
    refusals = []
    if project.account_id == PLACEHOLDER_ACCOUNT_ID:
        refusals.append(
            Refusal(
                "project.account_id",
                f"{PLACEHOLDER_ACCOUNT_ID} is the placeholder account: set project.account_id in {overlay} "
                "to the account that holds the pipeline",
            )
        )
    if project.bucket == PLACEHOLDER_BUCKET:
        refusals.append(
            Refusal(
                "project.bucket",
                f"{PLACEHOLDER_BUCKET!r} is the placeholder bucket (S3 names are global: someone else may "
                f"own it): set project.bucket in {overlay} to your account's bucket",
            )
        )
    if cfg.data.input_uri.startswith(f"s3://{PLACEHOLDER_BUCKET}/"):
        refusals.append(
            Refusal(
                "data.input_uri",
                f"{cfg.data.input_uri} is in the placeholder bucket: set data.input_uri in {overlay}",
            )
        )
    key = cfg.security.kms_key_id or ""
    if f":{PLACEHOLDER_ACCOUNT_ID}:" in key:
        refusals.append(
            Refusal(
                "security.kms_key_id",
                f"{key} is a key of the placeholder account: set security.kms_key_id in {overlay}",
            )
        )
    return refusals
