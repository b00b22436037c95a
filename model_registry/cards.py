"""Model cards: what a registered version is for, what it learned from, how it scored, what it cannot do.

One content layout for both backends: the SageMaker model card JSON schema (snake_case sections
`model_overview`, `intended_uses`, `training_details`, `evaluation_details`, `additional_information`),
carried on AWS as the `ModelCard` of CreateModelPackage (`ModelCardContent` is that JSON as a string,
at most 100,000 characters, with a `ModelCardStatus`; botocore's `ModelPackageModelCard` shape), and
locally stored with the version in the SQLite registry. `render_card` prints either as text.

Stdlib only: the deploy handler's Lambda bundle imports the registry package without extra libraries.
"""

from __future__ import annotations

import json
from typing import Any

# botocore sagemaker CreateModelPackage -> ModelCard (ModelPackageModelCard): ModelCardContent is a
# string of at most 100,000 characters; ModelCardStatus one of these.
MAX_CONTENT_CHARS = 100_000
CARD_STATUSES: tuple[str, ...] = ("Draft", "PendingReview", "Approved", "Archived")
# The top-level sections of the model card JSON schema (sagemaker.core.shapes.model_card_shapes
# ModelCardContent, generated from the service's schema); anything else is rejected by the service.
SECTIONS: tuple[str, ...] = (
    "model_overview",
    "intended_uses",
    "business_details",
    "training_details",
    "evaluation_details",
    "additional_information",
)
# A model package's card is a simplified model card: "model_overview is composed of the model_creator and
# model_artifact properties" and there is no model_package_details (SageMaker API reference,
# ModelPackageModelCard: docs.aws.amazon.com/sagemaker/latest/APIReference/API_ModelPackageModelCard.html).
PACKAGE_OVERVIEW_KEYS: tuple[str, ...] = ("model_creator", "model_artifact")
CARD_FILE_SUFFIX = ".card.md"


class InvalidModelCard(ValueError):
    """A model card content that SageMaker would refuse (not JSON, too long, unknown section)."""


def parse_content(text: str) -> dict[str, Any]:
    """The content of a ModelCardContent string, checked against the limits CreateModelPackage applies."""
    if len(text) > MAX_CONTENT_CHARS:
        raise InvalidModelCard(
            f"model card content is {len(text)} characters; SageMaker accepts at most {MAX_CONTENT_CHARS}"
        )
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidModelCard(f"model card content is not JSON: {error.msg} at {error.pos}") from error
    if not isinstance(content, dict):
        raise InvalidModelCard("model card content must be a JSON object of schema sections")
    unknown = sorted(set(content) - set(SECTIONS))
    if unknown:
        raise InvalidModelCard(
            f"model card sections {', '.join(unknown)} are not in the schema; use {', '.join(SECTIONS)}"
        )
    extra = sorted(set(content.get("model_overview") or {}) - set(PACKAGE_OVERVIEW_KEYS))
    if extra:
        raise InvalidModelCard(
            f"model_overview.{', model_overview.'.join(extra)}: a model package's card overview holds only "
            f"{' and '.join(PACKAGE_OVERVIEW_KEYS)}; put the rest in intended_uses or additional_information"
        )
    return content


def model_card_request(content_text: Any, status: str = "Draft") -> dict[str, Any]:
    """The `ModelCard` member of a CreateModelPackage request (content: JSON text or a pipeline Join)."""
    if status not in CARD_STATUSES:
        raise InvalidModelCard(f"model card status {status!r} is not one of {', '.join(CARD_STATUSES)}")
    return {"ModelCardContent": content_text, "ModelCardStatus": status}


def metric_figures(content: dict[str, Any]) -> dict[str, float]:
    """Every numeric metric of the card's evaluation, {name: value} (the figures a reviewer compares)."""
    found: dict[str, float] = {}
    for evaluation in content.get("evaluation_details") or []:
        for group in evaluation.get("metric_groups") or []:
            for metric in group.get("metric_data") or []:
                value = metric.get("value")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    found[str(metric.get("name"))] = float(value)
    return found


# ---- text -----------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_card(content: dict[str, Any], title: str) -> str:
    """The card as markdown-ish text: one heading per section, figures in aligned lines."""
    lines = [f"# Model card: {title}", ""]
    overview = content.get("model_overview") or {}
    if overview:
        lines += ["## Overview"]
        lines += [f"- {key.replace('_', ' ')}: {_value(value)}" for key, value in overview.items()]
        lines.append("")
    uses = content.get("intended_uses") or {}
    if uses:
        lines += ["## Intended use"]
        lines += [f"- {key.replace('_', ' ')}: {_value(value)}" for key, value in uses.items()]
        lines.append("")
    training = content.get("training_details") or {}
    if training:
        job = training.get("training_job_details") or {}
        lines += ["## Training data and hyperparameters"]
        if training.get("training_observations"):
            lines.append(training["training_observations"])
        lines += [f"- data: {uri}" for uri in job.get("training_datasets") or []]
        for parameter in job.get("user_provided_hyper_parameters") or job.get("hyper_parameters") or []:
            lines.append(f"- {parameter['name']} = {parameter.get('value', '')}")
        lines.append("")
    for evaluation in content.get("evaluation_details") or []:
        lines += [f"## Evaluation: {evaluation.get('name', '')}"]
        if evaluation.get("evaluation_observation"):
            lines.append(evaluation["evaluation_observation"])
        lines += [f"- dataset: {uri}" for uri in evaluation.get("datasets") or []]
        for key, value in (evaluation.get("metadata") or {}).items():
            lines.append(f"- {key.replace('_', ' ')}: {value}")
        for group in evaluation.get("metric_groups") or []:
            lines.append(f"### {group.get('name', 'metrics')}")
            for metric in group.get("metric_data") or []:
                notes = f"  ({metric['notes']})" if metric.get("notes") else ""
                lines.append(f"- {metric['name']:<22} {_value(metric['value'])}{notes}")
        lines.append("")
    extra = content.get("additional_information") or {}
    if extra:
        lines += ["## Limitations"]
        for key in ("caveats_and_recommendations", "ethical_considerations"):
            if extra.get(key):
                lines.append(f"- {extra[key]}")
        for key, value in (extra.get("custom_details") or {}).items():
            lines.append(f"- {key.replace('_', ' ')}: {value}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
