"""The quality gate of one model: metric >= threshold ? register and deploy : fail with the numbers.

Deployment from the pipeline is itself gated on the approval status the version was registered with:
only an Approved version goes live here; a PendingManualApproval one waits for a reviewer, whose approval
deploys it through the approval handler (model_registry/).

The JSON path comes from the evaluation schema (`report.json_path`), never from a literal.
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


def metric_value(ctx: StepContext, model: str, evaluate_step: RequestStep) -> JsonGet:
    metric = getattr(ctx.cfg, model).gate.metric
    return JsonGet(
        step_name=evaluate_step.name,
        property_file=report_file(model),
        json_path=report.json_path(model, metric),
    )


def build_fail_step(ctx: StepContext, model: str, evaluate_step: RequestStep) -> FailStep:
    """Ends the run with a message naming the metric, its value and the threshold."""
    metric = getattr(ctx.cfg, model).gate.metric
    message = Join(
        on="",
        values=[
            f"{model} {metric} = ",
            metric_value(ctx, model, evaluate_step),
            ", below the threshold ",
            ctx.params.for_model(model).threshold,
            f" ({report.json_path(model, metric)} in {report.REPORT_FILE}); the model was not registered.",
        ],
    )
    return FailStep(name=names.MODEL_STEPS[model]["fail"], error_message=message)


def build_gate_step(
    ctx: StepContext, model: str, evaluate_step: RequestStep, if_steps: list[Any], else_steps: list[Any]
) -> ConditionStep:
    condition = ConditionGreaterThanOrEqualTo(
        left=metric_value(ctx, model, evaluate_step), right=ctx.params.for_model(model).threshold
    )
    return ConditionStep(
        name=names.MODEL_STEPS[model]["gate"],
        conditions=[condition],
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
