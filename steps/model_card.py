"""The model card each RegisterChatbot / RegisterClassifier version carries (CreateModelPackage.ModelCard).

Why it is built here, in the RegisterModel request, and not by a separate step: a pipeline's
RegisterModel arguments are fixed when the definition is built, except for pipeline variables, which
the service resolves when the step runs. The SDK's own path (`ModelBuilder.register(model_card=...)`,
sagemaker/core/model_registry.py) copies `model_card.content` into the request as a ready string, so a
card with run-time figures has to be made of variables. Std:Join of literal JSON and `Std:JsonGet` /
`Get` values is such a variable: the evaluation figures are read from the evaluation report (the one
schema, containers/evaluation/report.py; the same JsonGet paths as the gates), the data fingerprint
from FingerprintData, the hyperparameters and artifact from the run's parameters and the training job.
The project already resolves JsonGet in this step's CustomerMetadataProperties, and the local runner
resolves the same Join, so both backends store the same card.

Only values without quotes or backslashes are spliced into JSON strings (S3 URIs, hashes, ids and
numbers); the figures are spliced as bare JSON numbers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet

from containers.evaluation import report
from model_registry.cards import model_card_request
from steps.context import StepContext
from steps.evaluate import report_file, report_uri
from steps.models import spec
from steps.request_step import RequestStep
from steps.train import hyperparameters
from steps.tune import model_artifacts

CARD_STATUS = "Draft"  # the version's approval status is the review; the card records what it is

PURPOSE: dict[str, str] = {
    "chatbot": (
        "Answers in the voice of one Stranger Things character: a causal language model fine-tuned "
        "(LoRA) on that character's lines from the episode transcripts."
    ),
    "classifier": (
        "Names the location of a scene from its text: a sequence classifier fine-tuned on labelled "
        "location descriptions."
    ),
}
INTENDED_USES: dict[str, str] = {
    "chatbot": "Fan-facing demo chat and the project's end-to-end MLOps exercise; not for advice.",
    "classifier": "Tagging transcript scenes by location for the project's analytics; not for real places.",
}
LIMITATIONS: dict[str, str] = {
    "chatbot": (
        "Knows only what the transcripts say; may repeat stock replies on small corpora or invent "
        "facts. The local tiny models check the pipeline, not quality: use a Hub model for real replies."
    ),
    "classifier": (
        "Knows only the labels of its training data; short or ambiguous texts fall back to the "
        "commonest location. The local tiny models check the pipeline, not quality."
    ),
}
ALGORITHM: dict[str, str] = {
    "chatbot": "causal language model, LoRA fine-tuning",
    "classifier": "transformer encoder, sequence classification fine-tuning",
}


@dataclass(frozen=True)
class Number:
    """A run-time value spliced into the card's JSON as a bare number (a metric figure)."""

    variable: Any


_MARK = re.compile(r'"@@N(\d+)@@"|@@S(\d+)@@')


def _flatten(value: Any) -> list[Any]:
    """A value as Join parts; a nested Join is inlined (Std:Join values are primitives or references)."""
    if isinstance(value, Join):
        parts: list[Any] = []
        for index, item in enumerate(value.values):
            if index and value.on:
                parts.append(value.on)
            parts += _flatten(item)
        return parts
    return [value]


def to_join(content: dict[str, Any]) -> Join | str:
    """The content as JSON text: a plain string, or a Std:Join when it holds run-time values."""
    variables: list[Any] = []

    def mark(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: mark(value) for key, value in node.items()}
        if isinstance(node, list):
            return [mark(value) for value in node]
        if isinstance(node, Number):
            variables.append(node.variable)
            return f"@@N{len(variables) - 1}@@"
        if node is None or isinstance(node, str | int | float | bool):
            return node
        variables.append(node)
        return f"@@S{len(variables) - 1}@@"

    text = json.dumps(mark(content), separators=(",", ":"))
    if not variables:
        return text
    parts: list[Any] = []
    at = 0
    for match in _MARK.finditer(text):
        parts.append(text[at : match.start()])
        parts += _flatten(variables[int(match.group(1) or match.group(2))])
        at = match.end()
    parts.append(text[at:])
    merged: list[Any] = []
    for part in parts:  # adjacent literals as one: a shorter definition
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return Join(on="", values=merged)


def _gate_rule(ctx: StepContext, model: str) -> Join:
    """The gate as text: each figure with its minimum as the run had it (its `<Model>Min<Figure>`)."""
    values: list[Any] = []
    for figure, minimum in ctx.params.for_model(model).gate_minimums.items():
        values += [", " if values else "", f"{figure} >= ", minimum]
    return Join(on="", values=values)


def _note(model: str, figure: str) -> str:
    """Where the figure is in the report and, for a figure against a baseline, what it means."""
    derived = report.spec(model).derived.get(figure)
    path = report.json_path(model, figure)
    return (f"{path}: {derived.meaning}" if derived else path)[:1024]


def card_content(
    ctx: StepContext, model: str, train_step: RequestStep, evaluate_step: RequestStep
) -> dict[str, Any]:
    """The card's sections (model card JSON schema), with pipeline variables where values are run-time."""
    folder = spec(model).data_folder
    fingerprint = ctx.data_fingerprint(folder)
    gate = _gate_rule(ctx, model)
    figures = [
        {
            "name": metric,
            "type": "number",
            "value": Number(
                JsonGet(
                    step_name=evaluate_step.name,
                    property_file=report_file(model),
                    json_path=report.json_path(model, metric),
                )
            ),
            "notes": _note(model, metric),
        }
        for metric in report.spec(model).figures
    ]
    hyper = [
        {"name": key, "value": value}
        for key, value in hyperparameters(ctx, model).items()
        if not key.startswith("sagemaker_")
    ]
    content: dict[str, Any] = {
        "model_overview": {  # a model package card's overview holds these two only (see cards.py)
            "model_creator": ctx.cfg.project.name,
            "model_artifact": [model_artifacts(ctx, train_step)],
        },
        "intended_uses": {
            "purpose_of_model": PURPOSE[model],
            "intended_uses": INTENDED_USES[model],
            "risk_rating": "Low",
            "explanations_for_risk_rating": "Entertainment use on fictional dialogue; no personal data.",
        },
        "training_details": {
            "training_observations": Join(
                on="",
                values=[
                    f"Trained on the {folder} folder of ",
                    ctx.params.input_data_uri,
                    " (sha256 ",
                    fingerprint,
                    ").",
                ],
            ),
            "training_job_details": {
                "training_datasets": [Join(on="/", values=[ctx.params.input_data_uri, folder])],
                "user_provided_hyper_parameters": hyper,
            },
        },
        "evaluation_details": [
            {
                "name": f"{model} test split",
                "evaluation_observation": Join(
                    on="",
                    values=[
                        "Registered after passing its quality gate (",
                        gate,
                        f"); the figures below come from {report.REPORT_FILE}, the report the gate read.",
                    ],
                ),
                "datasets": [report_uri(evaluate_step)],
                "metadata": {
                    "gate": "passed",
                    "gate_rule": gate,
                    "evaluation_report": report_uri(evaluate_step),
                    f"{folder}_sha256": fingerprint,
                    "code_sha12": ctx.code_sha12,
                    "pipeline_execution": ExecutionVariables.PIPELINE_EXECUTION_ID,
                },
                "metric_groups": [{"name": "test split", "metric_data": figures}],
            }
        ],
        "additional_information": {
            "caveats_and_recommendations": LIMITATIONS[model],
            "custom_details": {
                "environment": ctx.cfg.env,
                "algorithm_type": ALGORITHM[model],
                "problem_type": model,
            },
        },
    }
    return content


def model_card(
    ctx: StepContext, model: str, train_step: RequestStep, evaluate_step: RequestStep
) -> dict[str, Any]:
    """The ModelCard member of the CreateModelPackage request."""
    content = to_join(card_content(ctx, model, train_step, evaluate_step))
    return model_card_request(content, CARD_STATUS)
