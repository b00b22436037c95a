"""Condition and Fail steps: decided on the scheduler's thread from values already known.

- Condition: every condition true -> the If branch, else the Else branch (the scheduler skips the other).
- Fail: the run ends with the step's resolved ErrorMessage.
"""

from __future__ import annotations

from pipelines.local.expressions import ConditionOutcome, evaluate_condition, resolve
from pipelines.local.handlers import Outcome, StepCall
from pipelines.local.state import FAILED, SUCCEEDED


def run_condition(call: StepCall) -> Outcome:
    """All conditions true -> 'if' (SageMaker ANDs the list)."""
    conditions = call.args.get("Conditions", [])
    outcomes: list[ConditionOutcome] = [evaluate_condition(c, call.scope) for c in conditions]
    result = all(o.value for o in outcomes)
    decision = {
        "outcomes": [{"condition": o.text, "value": o.value} for o in outcomes],
        "branch": "if" if result else "else",
    }
    return Outcome(SUCCEEDED, properties={"Outcome": "True" if result else "False"}, decision=decision)


def run_fail(call: StepCall) -> Outcome:
    message = resolve(call.args.get("ErrorMessage", ""), call.scope)
    return Outcome(FAILED, message=str(message) or "the pipeline reached a Fail step")
