"""FindXVersion -> CheckXIsNew -> RegisterX -> CheckXApproval -> DeployX: the registry end of a branch.

One deployer (issue 11): the pipeline builds no endpoint itself. `DeployX` is a Lambda step that
invokes the deploy handler (model_registry/lambda_handler.py, the function of the operations stack)
with a direct request, `{"request": "reconcile", "group": ...}`; the handler points the environment's
endpoint at the group's latest approved version, with the same guardrails as an approval (blue/green
with alarm rollback, data capture), treats an update already in progress to that version as done, and
returns once the update has started (a Lambda step waits at most 10 minutes). So an approval event and
the pipeline converge on one endpoint state instead of racing. Endpoint steps would also be unable to
carry the guardrails: the pull request that added EndpointConfig/Endpoint steps to the SDK says the
service rejects DataCaptureConfig in an EndpointConfig step and DeploymentConfig in an Endpoint step.

`FindXVersion` asks the same function (`{"request": "find", ...}`) for a version of the group with the
same artifact and evaluation report: RegisterModel cannot be cached on SageMaker, so without it a fully
cached scheduled run would add the same model as a new version for review every time (and a rejected
model would come back).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sagemaker.core.workflow.conditions import ConditionEquals
from sagemaker.mlops.workflow import ConditionStep
from sagemaker.mlops.workflow.lambda_step import LambdaOutput, LambdaOutputTypeEnum, LambdaStep

from model_registry import naming
from model_registry.deploy_requests import FIND, RECONCILE, REQUEST_KEY
from model_registry.settings import group_of
from steps import names
from steps.context import StepContext
from steps.evaluate import report_uri
from steps.request_step import RequestStep
from steps.tune import model_artifacts

FIND_OUTPUTS = ("found", "version", "status", "model_package_arn")
DEPLOY_OUTPUTS = ("action", "reason", "endpoint_name", "version", "model_package_arn")


def endpoint_name(ctx: StepContext, model: str) -> str:
    """The environment's endpoint of `model`: the name the deploy handler updates (one source)."""
    return naming.endpoint_name(ctx.cfg.project.name, model, ctx.cfg.env)


def handler_arn(ctx: StepContext) -> str:
    """The deploy handler's ARN (the operations stack names the function `naming.handler_function_name`)."""
    project = ctx.cfg.project
    return naming.handler_function_arn(project.region, project.account_id, project.name, ctx.cfg.env)


@dataclass(frozen=True)
class ExistingFunction:
    """The function a LambdaStep invokes, by ARN only.

    Why not the SDK's `Lambda(function_arn=...)`: its constructor builds a SageMaker Session (a boto
    session that wants a region and credentials), and with neither code nor script it warns on every
    build. LambdaStep reads only these three attributes; the function itself is the operations stack's.
    """

    function_arn: str
    zipped_code_dir: None = None
    script: None = None


class HandlerStep(LambdaStep):
    """A LambdaStep invoking the deploy handler; its outputs are strings (see deploy_requests)."""

    def __init__(
        self,
        name: str,
        ctx: StepContext,
        inputs: dict[str, Any],
        outputs: tuple[str, ...],
        description: str,
        depends_on: list[Any] | None = None,
    ) -> None:
        super().__init__(
            name,
            lambda_func=ExistingFunction(handler_arn(ctx)),  # type: ignore[arg-type]
            description=description,
            inputs=inputs,
            outputs=[LambdaOutput(output_name=o, output_type=LambdaOutputTypeEnum.String) for o in outputs],
            depends_on=depends_on,
        )

    def _get_function_arn(self) -> str:
        return str(self.lambda_func.function_arn)

    def output(self, name: str) -> Any:
        return self.properties.Outputs[name]


def build_find_step(
    ctx: StepContext, model: str, train_step: RequestStep, evaluate_step: RequestStep
) -> HandlerStep:
    """FindXVersion: is this artifact with this evaluation already a version of the group?"""
    return HandlerStep(
        names.MODEL_STEPS[model]["find"],
        ctx,
        {
            REQUEST_KEY: FIND,
            "group": group_of(ctx.cfg, model),
            "model_data_url": model_artifacts(ctx, train_step),
            "evaluation_uri": report_uri(evaluate_step),
        },
        FIND_OUTPUTS,
        f"Look the {model} group up for a version with this artifact and evaluation (any status)",
    )


def build_new_version_step(
    ctx: StepContext, model: str, find_step: HandlerStep, if_steps: list[Any], else_steps: list[Any]
) -> ConditionStep:
    """CheckXIsNew: register (and deploy) only what the group does not hold yet; a rejected one stays so."""
    return ConditionStep(
        name=names.MODEL_STEPS[model]["is_new"],
        conditions=[ConditionEquals(left=find_step.output("found"), right="false")],
        if_steps=if_steps,
        else_steps=else_steps,  # a leaf of the model's branch: the verdict on the other model (steps/gate.py)
    )


def build_deploy_step(ctx: StepContext, model: str) -> HandlerStep:
    """DeployX: the deploy handler reconciles the endpoint to the group's latest approved version."""
    return HandlerStep(
        names.MODEL_STEPS[model]["deploy"],
        ctx,
        {REQUEST_KEY: RECONCILE, "group": group_of(ctx.cfg, model)},
        DEPLOY_OUTPUTS,
        f"Point the {ctx.cfg.env} {model} endpoint at the latest approved version (the deploy handler)",
    )
