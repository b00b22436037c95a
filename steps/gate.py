"""The quality gate of one model: every figure >= its minimum ? register and deploy : nothing more.

The figures (conf `<model>.gate`: {figure: minimum}) include ones derived against a baseline in the
evaluation report: the classifier's accuracy_lift over the majority class, the chatbot's chrf_lift over its
base and distinct_reply_ratio against the references, so neither a constant answer nor the untrained
base passes. Each minimum is a pipeline Parameter (`<Model>Min<Figure>`, e.g. ChatbotMinChrfLift).

Each model's fate is its own: a failing gate neither stops nor hides the other model's branch, and the
run still ends Failed, naming every comparison. Why the Fail steps sit where they do:
- A Fail step ends the execution once the steps already running finish; steps not yet started never
  start (the service's semantics, followed by the local runner). A Fail step on a gate's else branch
  would strand the other model's Register/deploy steps whenever they had not started yet.
- A pipeline cannot rejoin after a ConditionStep: a step runs only when every step it depends on
  completed, so a step downstream of a step in the untaken branch never runs (sagemaker-python-sdk
  issue #3565; the SDK's own local executor, sagemaker/mlops/local/pipeline.py
  `_ConditionStepExecutor`, blocks the whole sub-DAG of the untaken branch). A single final step "after
  both branches" would therefore never run when either branch was not taken.
So the verdict is taken at every leaf of each model's branch, where that branch can start nothing more:
after its gate failed, after its version was registered pending approval, after it was deployed. There a
Condition step re-reads the OTHER model's figures (the same comparisons as its gate, from its evaluation
report: a step outside any branch, so the verdict always has its input) and fails the run when they miss
a minimum. If the other model passed, the other branch takes its own verdict at its own end; if it
failed, it has nothing left to start. Whichever model finishes last fails the run, after both branches
did everything they could. `pipelines.validation.check_fail_steps_strand_nothing` checks this shape.

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


def other_model(model: str) -> str:
    return "classifier" if model == "chatbot" else "chatbot"


def gate_conditions(ctx: StepContext, model: str, evaluate_step: RequestStep) -> list[Any]:
    """The gate's comparisons: each figure >= the Parameter of its minimum (a ConditionStep ANDs them)."""
    return [
        ConditionGreaterThanOrEqualTo(left=figure_value(model, evaluate_step, figure), right=minimum)
        for figure, minimum in ctx.params.for_model(model).gate_minimums.items()
    ]


def comparison_values(ctx: StepContext, model: str, evaluate_step: RequestStep) -> list[Any]:
    """Join parts listing each comparison of the gate, 'figure = <value> (minimum <minimum>)', by '; '.

    A condition step says only that the conjunction failed, and a Join cannot choose its parts, so a
    message lists each comparison with both numbers: the failed ones are those below their minimum.
    """
    values: list[Any] = []
    for index, (figure, minimum) in enumerate(ctx.params.for_model(model).gate_minimums.items()):
        values += [
            f"{'; ' if index else ''}{figure} = ",
            figure_value(model, evaluate_step, figure),
            " (minimum ",
            minimum,
            ")",
        ]
    return values


def _figures_note(*models: str) -> str:
    where = " and ".join(f"{report.spec(m).problem_key}.<figure>.value" for m in models)
    return f"Figures from {where} in {report.REPORT_FILE}"


def build_fail_step(
    ctx: StepContext, model: str, evaluate_step: RequestStep, name: str, after: str
) -> FailStep:
    """Ends the run because `model` missed its gate, once the `after` model's branch has ended."""
    values: list[Any] = [f"{model} did not pass its quality gate (every figure must reach its minimum): "]
    values += comparison_values(ctx, model, evaluate_step)
    values.append(
        f". {_figures_note(model)}; the model was not registered. "
        f"The {after} branch ran to its end before this step."
    )
    return FailStep(name=name, error_message=Join(on="", values=values))


def build_both_fail_step(ctx: StepContext, evaluates: dict[str, RequestStep], name: str) -> FailStep:
    """Ends the run because both models missed their gates: every comparison of both, model by model."""
    models = list(evaluates)
    values: list[Any] = [
        f"{' and '.join(models)} did not pass their quality gates (every figure must reach its minimum): "
    ]
    for index, model in enumerate(models):
        values.append(f"{'; ' if index else ''}{model}: ")
        values += comparison_values(ctx, model, evaluates[model])
    values.append(f". {_figures_note(*models)}; neither model was registered.")
    return FailStep(name=name, error_message=Join(on="", values=values))


def build_verdict_step(
    ctx: StepContext,
    model: str,
    leaf: str,
    evaluates: dict[str, RequestStep],
    depends_on: list[Any],
) -> ConditionStep:
    """At one leaf of `model`'s branch: the other model's gate comparisons; else the run fails.

    After `model`'s own gate failed ('failed'), the Fail step names both models' comparisons (the other
    failed too); after a registered ('registered') or deployed ('deployed') version, the other's only.
    """
    other = other_model(model)
    check, fail_name = names.VERDICT_STEPS[model][leaf]
    if leaf == "failed":
        fail = build_both_fail_step(ctx, {model: evaluates[model], other: evaluates[other]}, fail_name)
    else:
        fail = build_fail_step(ctx, other, evaluates[other], fail_name, after=model)
    return ConditionStep(
        name=check,
        depends_on=depends_on or None,
        conditions=gate_conditions(ctx, other, evaluates[other]),
        if_steps=[],
        else_steps=[fail],
    )


def build_gate_step(
    ctx: StepContext, model: str, evaluate_step: RequestStep, if_steps: list[Any], else_steps: list[Any]
) -> ConditionStep:
    """Pass when every figure reaches its minimum (figure >= the Parameter of its minimum)."""
    return ConditionStep(
        name=names.MODEL_STEPS[model]["gate"],
        conditions=gate_conditions(ctx, model, evaluate_step),
        if_steps=if_steps,
        else_steps=else_steps,
    )


def build_approval_step(
    ctx: StepContext,
    model: str,
    register_step: RequestStep,
    deploy_steps: list[Any],
    evaluates: dict[str, RequestStep],
    waits_for: list[Any],
) -> ConditionStep:
    """Deploy only when the version was registered Approved (never put an unapproved model live).

    Both ends of this step are leaves of the model's branch, so each holds a verdict on the other model:
    after the last deploy step, and on the else branch (the version waits for a reviewer). `waits_for`:
    the steps outside both model branches (analytics) that a Fail step must not strand either.
    """
    deployed = build_verdict_step(ctx, model, "deployed", evaluates, [deploy_steps[-1], *waits_for])
    return ConditionStep(
        name=names.MODEL_STEPS[model]["approved"],
        depends_on=[register_step],
        conditions=[
            ConditionEquals(left=ctx.params.model_approval_status, right=ApprovalStatus.APPROVED.value)
        ],
        if_steps=[*deploy_steps, deployed],
        else_steps=[build_verdict_step(ctx, model, "registered", evaluates, waits_for)],
    )
