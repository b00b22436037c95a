"""Talk to AWS: check the images are in ECR, upload the code bundle, upsert the pipeline with tags, start
executions.

Upsert uploads first (content-addressed, so an unchanged bundle is not re-sent) and then sends exactly
the definition `make definition` writes: the bundle hash in the definition is the one just uploaded.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from conf.schema import Config
from model_registry.naming import pipeline_name
from project.bundle import upload_bundle
from project.images import missing_images, project_images

LOG = logging.getLogger(__name__)
PARAMETER_TYPES = {"ParameterString": str, "ParameterInteger": int, "ParameterFloat": float}
# Settings a person may look for among the Parameters, and where they live instead (steps/parameters.py
# says why the endpoints' instance type is not a run-time knob).
SET_IN_CONFIG = {
    "ChatbotEndpointInstanceType": "chatbot.serving.instance_type",
    "ClassifierEndpointInstanceType": "classifier.serving.instance_type",
}


@dataclass(frozen=True)
class UpsertResult:
    pipeline_arn: str
    code_uri: str


def _boto_session(cfg: Config, boto_session: Any | None) -> Any:
    import boto3

    return boto_session or boto3.session.Session(region_name=cfg.project.region)


def pipeline_tags(cfg: Config) -> list[dict[str, str]]:
    """The config's tags plus the environment, sorted by key."""
    tags = {**cfg.project.tags, "environment": cfg.env}
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


def upsert_pipeline(cfg: Config, boto_session: Any | None = None) -> UpsertResult:
    """Check the documented service rules and that ECR holds the project images the definition runs,
    upload the code bundle, then create or update the pipeline (with description and tags).

    A definition AWS would refuse at run time, or whose jobs would fail pulling an image nobody pushed
    (the tags are content-addressed: a changed recipe names a new one), is refused here before anything
    is uploaded (ValueError, one line).
    """
    from pipelines.definition import build_pipeline
    from pipelines.service_rules import RuleContext, check_service_rules

    session = _boto_session(cfg, boto_session)
    pipeline = build_pipeline(cfg, boto_session=session)
    definition = json.loads(pipeline.definition())
    violations = check_service_rules(definition, RuleContext.of(cfg))
    if violations:
        raise ValueError(
            "refusing to upsert: "
            + "; ".join(map(str, violations))
            + f" (`make validate-pipeline ENV={cfg.env}` shows each rule's source)"
        )
    missing = missing_images(session.client("ecr"), project_images(cfg, definition))
    if missing:
        raise ValueError(
            "refusing to upsert: not in ECR: "
            + "; ".join(f"{uri} ({answer})" for uri, answer in missing.items())
            + f": build and push them with `make build-containers ENV={cfg.env}`"
        )
    code_uri = upload_bundle(session.client("s3"), cfg.project.bucket, cfg.project.prefix)
    LOG.info("code bundle at %s", code_uri)
    response = pipeline.upsert(
        role_arn=cfg.project.pipeline_role_arn,  # the pipeline role; jobs run as the job role
        description=f"{cfg.project.name} ({cfg.env}): NLP analytics, chatbot and location classifier",
        tags=pipeline_tags(cfg),
    )
    return UpsertResult(pipeline_arn=response["PipelineArn"], code_uri=code_uri)


def parse_params(pairs: list[str]) -> dict[str, str]:
    """['Name=value', ...] -> {'Name': 'value'}; a pair without '=' is an error that says so."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {pair!r}: expected Name=value, e.g. ChatbotEpochs=1")
        result[name.strip()] = value.strip()
    return result


def typed_parameters(cfg: Config, overrides: dict[str, str]) -> dict[str, str | int | float]:
    """Check names against the pipeline's Parameters and convert values to each one's type."""
    # Importing the SDK builds a client: the region must be set first (from config, not the shell).
    os.environ.setdefault("AWS_DEFAULT_REGION", cfg.project.region)
    from steps.parameters import build_parameters

    known = {param.name: param for param in build_parameters(cfg).all()}
    typed: dict[str, str | int | float] = {}
    for name, value in overrides.items():
        if name in SET_IN_CONFIG and name not in known:
            raise ValueError(
                f"{name} is not a pipeline parameter: both deploy triggers serve on conf "
                f"{SET_IN_CONFIG[name]}; set it in conf/{cfg.env}.yaml, then `make deploy-infra "
                f"ENV={cfg.env}` (the deploy handler's settings) and `make upsert-pipeline ENV={cfg.env}`"
            )
        if name not in known:
            raise ValueError(f"unknown pipeline parameter {name!r}; known: {', '.join(sorted(known))}")
        param = known[name]
        kind = PARAMETER_TYPES[type(param).__name__]
        try:
            typed[name] = kind(value)
        except ValueError:
            raise ValueError(f"{name} is a {kind.__name__} parameter; {value!r} is not one") from None
        enum = getattr(param, "enum_values", None)
        if enum and typed[name] not in enum:
            raise ValueError(f"{name} must be one of {', '.join(enum)}; not {value!r}")
    return typed


def aws_session(cfg: Config) -> Any:
    """A boto3 session in the config's region whose credentials are resolved now.

    Resolving them first matters: the offline session factory (pipelines/session.py) turns off EC2
    instance-metadata lookups for the definition build, which would hide an instance role's credentials
    from a client created afterwards; a session that has them keeps them.
    """
    session = _boto_session(cfg, None)
    session.get_credentials()
    return session


def refuse_overrides(cfg: Config, overrides: dict[str, str]) -> dict[str, str | int | float]:
    """The typed overrides, or ValueError (one line) when the built definition cannot serve them.

    The image (CPU or GPU), torchrun, volume keys and the registered serving types are chosen at build
    time from the config's instance types; a Parameter override cannot change them, so an override the
    definition cannot serve (e.g. a GPU image on a CPU type) is refused before anything starts. A CPU run
    is a config overlay built for CPU, not an override.
    """
    from conf.refusals import OFFLINE_MODEL_PREFIXES
    from pipelines.definition import definition_json
    from pipelines.service_rules import RuleContext, override_violations

    typed = typed_parameters(cfg, overrides)
    problems = [
        f"{name}={value}: a Hub id cannot be downloaded with security.network_isolation on "
        "(use an s3:// URI or a folder baked into the image)"
        for name, value in typed.items()
        if cfg.security.network_isolation
        and name.endswith("ModelId")
        and not str(value).startswith(OFFLINE_MODEL_PREFIXES)
    ]
    if typed:
        definition = json.loads(definition_json(cfg))
        problems += [str(v) for v in override_violations(definition, RuleContext.of(cfg), typed)]
    if problems:
        raise ValueError("refusing to start: " + "; ".join(problems))
    return typed


def start_pipeline(
    cfg: Config, overrides: dict[str, str], display_name: str | None = None, boto_session: Any | None = None
) -> str:
    """Start an execution of the environment's pipeline; returns the execution ARN."""
    # The SDK builds a client when it is imported: the region must be known first (from config).
    os.environ.setdefault("AWS_DEFAULT_REGION", cfg.project.region)
    from sagemaker.mlops.workflow import Pipeline

    from pipelines.session import make_session

    parameters = typed_parameters(cfg, overrides)
    session = make_session(cfg.project.region, boto_session=_boto_session(cfg, boto_session))
    pipeline = Pipeline(name=pipeline_name(cfg.project.name, cfg.env), sagemaker_session=session)
    execution = pipeline.start(parameters=parameters or None, execution_display_name=display_name)
    return execution.arn
