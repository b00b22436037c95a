"""The quality gate of one model: every figure >= its minimum ? register and deploy : fail with the numbers.

The figures (conf `<model>.gate`: {figure: minimum}) include ones derived against a baseline in the
evaluation report: the classifier's accuracy_lift over the majority class, the chatbot's chrf_lift over its
base and distinct_reply_ratio against the references, so neither a constant answer nor the untrained
base passes. Each minimum is a pipeline Parameter (`<Model>Min<Figure>`, e.g. ChatbotMinChrfLift).

Deployment from the pipeline is itself gated on the approval status the version was registered with:
only an Approved version goes live here; a PendingManualApproval one waits for a reviewer, whose approval
deploys it through the approval handler (model_registry/).

JSON paths come from the evaluation schema (`report.json_path`), never from literals.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.workflow.conditions import ConditionEquals, ConditionGreaterThanOrEqualTo
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.mlops.workflow import ConditionStep, FailStep

from containers.evaluation import report
from model_registry.types import ApprovalStatus
from steps import names
from steps.context import StepContext
from steps.evaluate import report_file
from steps.request_step import RequestStep


def figure_value(model: str, evaluate_step: RequestStep, figure: str) -> JsonGet:
    """One figure of the model's evaluation report, read where the schema puts it."""
    return JsonGet(
        step_name=evaluate_step.name,
        property_file=report_file(model),
        json_path=report.json_path(model, figure),
    )


def build_fail_step(ctx: StepContext, model: str, evaluate_step: RequestStep) -> FailStep:
    """Ends the run with every comparison of the gate: figure, its value and its minimum.

    A condition step says only that the conjunction failed, and a Join cannot choose its parts, so the
    message lists each comparison with both numbers: the failed ones are those below their minimum.
    """
    values: list[Any] = [f"{model} did not pass its quality gate (every figure must reach its minimum): "]
    for index, (figure, minimum) in enumerate(ctx.params.for_model(model).gate_minimums.items()):
        values += [
            f"{'; ' if index else ''}{figure} = ",
            figure_value(model, evaluate_step, figure),
            " (minimum ",
            minimum,
            ")",
        ]
    values.append(
        f". Figures from {report.spec(model).problem_key}.<figure>.value in {report.REPORT_FILE}; "
        "the model was not registered."
    )
    return FailStep(name=names.MODEL_STEPS[model]["fail"], error_message=Join(on="", values=values))


def build_gate_step(
    ctx: StepContext, model: str, evaluate_step: RequestStep, if_steps: list[Any], else_steps: list[Any]
) -> ConditionStep:
    """Pass when every figure reaches its minimum (figure >= the Parameter of its minimum)."""
    conditions = [
        ConditionGreaterThanOrEqualTo(left=figure_value(model, evaluate_step, figure), right=minimum)
        for figure, minimum in ctx.params.for_model(model).gate_minimums.items()
    ]
    return ConditionStep(
        name=names.MODEL_STEPS[model]["gate"],
        conditions=conditions,
        if_steps=if_steps,
        else_steps=else_steps,
    )


def build_approval_step(
    ctx: StepContext, model: str, register_step: RequestStep, deploy_steps: list[Any]
) -> ConditionStep:
    """Deploy only when the version was registered Approved (never put an unapproved model live)."""
    return ConditionStep(
        name=names.MODEL_STEPS[model]["approved"],
        depends_on=[register_step],
        conditions=[
            ConditionEquals(left=ctx.params.model_approval_status, right=ApprovalStatus.APPROVED.value)
        ],
        if_steps=deploy_steps,
        else_steps=[],
    )
