"""The table of step types the local runner runs: one row (`StepKind`) and one handler per type.

Everything else derives from this table: which types a definition may use (`check_supported`), which
steps run in the worker pool, whose Arguments are resolved before the handler sees them, and which
argument paths the cache key leaves out.

To add a step type (Tuning, Transform, Lambda, ...):
1. write its handler, `def run_x(call: StepCall) -> Outcome` (see `handlers` for the contract): a
   container job builds a `job_steps.Job` and returns `job_steps.run_job(call, job)`, which gives it
   the step cache; a quick step returns an `Outcome` itself;
2. add its row below: `StepKind("X", run_x, is_job=..., destinations=(...))`.
Nothing in the scheduler changes. `tests/pipelines/local/test_step_types.py` adds a type this way.
"""

from __future__ import annotations

from pipelines.local.control_steps import run_condition, run_fail
from pipelines.local.dag import Dag, DefinitionError
from pipelines.local.handlers import StepKind
from pipelines.local.job_steps import TRAINING_DESTINATIONS, run_processing, run_training
from pipelines.local.lambda_steps import run_lambda
from pipelines.local.registry_steps import run_endpoint, run_endpoint_config, run_model, run_register
from pipelines.local.transform_steps import run_transform
from pipelines.local.tuning_steps import run_tuning

STEP_KINDS: dict[str, StepKind] = {
    kind.type: kind
    for kind in (
        StepKind(
            "Processing",
            run_processing,
            is_job=True,
            destinations=("ProcessingOutputConfig.Outputs[*].S3Output.S3Uri",),
        ),
        StepKind("Training", run_training, is_job=True, destinations=TRAINING_DESTINATIONS),
        # Its trials are Training jobs with their own cache keys; the step itself is not cached whole.
        StepKind("Tuning", run_tuning, is_job=True),
        # A Transform's CacheConfig could never hit on SageMaker (ModelName is per execution); locally it
        # is keyed on the model's content and its input files, so it uses the cache unless --no-cache.
        StepKind(
            "Transform",
            run_transform,
            is_job=True,
            destinations=("TransformOutput.S3OutputPath",),
            follows_cache_config=False,
        ),
        StepKind("Condition", run_condition, resolve_arguments=False),
        StepKind("Fail", run_fail),
        StepKind("RegisterModel", run_register, follows_cache_config=False),
        StepKind("Model", run_model),
        StepKind("EndpointConfig", run_endpoint_config),
        StepKind("Endpoint", run_endpoint),
        # The deploy handler's direct requests (FindXVersion, DeployX), by the handler's own code.
        StepKind("Lambda", run_lambda),
    )
}


def check_supported(dag: Dag) -> None:
    """Refuse, before anything runs, a step type the local runner cannot execute."""
    for node in dag.steps.values():
        if node.type not in STEP_KINDS:
            raise DefinitionError(
                f"step {node.name!r} has type {node.type!r}, which the local runner does not run "
                f"(supported: {', '.join(STEP_KINDS)})"
            )
