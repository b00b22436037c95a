"""A definition rule: no Fail step can end the run while work it does not wait for may not have started.

What the service does, and this rule relies on:
- A Fail step ends the execution: the steps already running finish, steps not yet started never start
  (the "Fail step" section of docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-steps-types.html,
  as the project's notes record it; pipelines/local/runner.py follows it). Any step that could still be
  waiting to start when a Fail step runs would be silently dropped.
- A step runs only when every step it depends on completed; a step in the untaken branch of a Condition
  step never runs, nor does anything downstream of it: there is no rejoin after a Condition step
  (sagemaker-python-sdk issue #3565; the SDK's local executor, sagemaker/mlops/local/pipeline.py
  `_ConditionStepExecutor`, blocks the untaken branch's whole sub-DAG).

So for each Fail step F: every job or registry/endpoint step S that can run in the same execution as F
must be upstream of F (F waits for it). "Can run in the same execution" compares the branch decisions
each step needs; two Condition steps with identical Conditions decide alike (the verdict steps re-read
the other model's gate comparisons), so their decisions are keyed by the Conditions themselves.
Condition and Fail steps are exempt: they do no work of their own.

And the other half (`gate_outcome_problems`): over every outcome of the gates and of every other
Condition, the run ends Failed exactly when a gate failed, so a new leaf (a Condition whose branch ends
without a verdict) cannot let a failed gate pass unnoticed.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from pipelines.validation import flatten_steps

STEP_GET = re.compile(r"^Steps\.([A-Za-z0-9-]+)\.")
EXEMPT = {"Condition", "Fail"}


def _referenced_steps(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        get = node.get("Get")
        if isinstance(get, str) and (match := STEP_GET.match(get)):
            found.add(match.group(1))
        for value in node.values():
            found |= _referenced_steps(value)
    elif isinstance(node, list):
        for value in node:
            found |= _referenced_steps(value)
    return found


def _branches(steps: list[dict[str, Any]], owner: dict[str, tuple[str, str]]) -> None:
    """step name -> (owning Condition step, 'if' | 'else') for every step in a branch."""
    for step in steps:
        if step["Type"] == "Condition":
            for side, key in (("if", "IfSteps"), ("else", "ElseSteps")):
                for child in step["Arguments"].get(key, []):
                    owner[child["Name"]] = (step["Name"], side)
                _branches(step["Arguments"].get(key, []), owner)


def _upstream(
    definition: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]], dict[str, tuple[str, str]]]:
    """Steps by name, each step's direct upstream steps, and the branch each branch step is in."""
    steps = {s["Name"]: s for s in flatten_steps(definition["Steps"])}
    owner: dict[str, tuple[str, str]] = {}
    _branches(definition["Steps"], owner)
    upstream: dict[str, set[str]] = {}
    for name, step in steps.items():
        reads = step["Arguments"].get("Conditions", []) if step["Type"] == "Condition" else step["Arguments"]
        wanted = set(step.get("DependsOn", [])) | _referenced_steps(reads)
        if name in owner:
            wanted.add(owner[name][0])
        upstream[name] = {w for w in wanted if w in steps and w != name}
    return steps, upstream, owner


def _ancestors(name: str, upstream: dict[str, set[str]]) -> set[str]:
    found: set[str] = set()
    frontier = [name]
    while frontier:
        for parent in upstream[frontier.pop()]:
            if parent not in found:
                found.add(parent)
                frontier.append(parent)
    return found


def stranding_problems(definition: dict[str, Any]) -> list[str]:
    """One message per Fail step that could end the run before a step it does not wait for starts."""
    steps, upstream, owner = _upstream(definition)

    def decision_key(condition: str) -> str:
        return json.dumps(steps[condition]["Arguments"].get("Conditions", []), sort_keys=True)

    def needs(name: str, ancestors: set[str]) -> dict[str, str]:
        """The branch decisions a step needs to run: {conditions key: side}."""
        return {decision_key(owner[n][0]): owner[n][1] for n in ancestors | {name} if n in owner}

    ancestry = {name: _ancestors(name, upstream) for name in steps}
    decisions = {name: needs(name, ancestry[name]) for name in steps}
    problems: list[str] = []
    for fail, step in steps.items():
        if step["Type"] != "Fail":
            continue
        stranded = sorted(
            name
            for name, other in steps.items()
            if other["Type"] not in EXEMPT
            and name not in ancestry[fail]
            and all(decisions[fail].get(key, side) == side for key, side in decisions[name].items())
        )
        if stranded:
            problems.append(
                f"{fail}: this Fail step can run before {', '.join(stranded)} started; a Fail step ends "
                "the run once the running steps finish, so those would never start. Put the Fail step "
                "where it waits for them (DependsOn or a data dependency) or on a path they cannot take."
            )
    return problems


def _order(upstream: dict[str, set[str]]) -> list[str]:
    remaining = {name: set(parents) for name, parents in upstream.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(name for name, parents in remaining.items() if not parents)
        if not ready:
            raise ValueError(f"the steps form a cycle: {', '.join(sorted(remaining))}")
        order += ready
        for name in ready:
            del remaining[name]
        for parents in remaining.values():
            parents.difference_update(ready)
    return order


def _runs(
    steps: dict[str, dict[str, Any]],
    upstream: dict[str, set[str]],
    owner: dict[str, tuple[str, str]],
    decide: dict[str, bool],
) -> set[str]:
    """The steps that run when each Condition decides as `decide` says (keyed by its Conditions): a step
    runs when everything upstream ran and, in a branch, its Condition took that branch."""
    ran: set[str] = set()
    for name in _order(upstream):
        if not upstream[name] <= ran:
            continue
        if name in owner:
            condition, side = owner[name]
            key = json.dumps(steps[condition]["Arguments"].get("Conditions", []), sort_keys=True)
            if decide[key] != (side == "if"):
                continue
        ran.add(name)
    return ran


def gate_outcome_problems(definition: dict[str, Any], gates: list[str]) -> list[str]:
    """Every outcome of the `gates` (and of every other Condition) ends the run Failed exactly when a gate
    failed: one message per outcome where no Fail step runs though a gate failed, or one runs though all
    passed. Conditions with identical Conditions decide alike (the verdicts repeat a gate's)."""
    steps, upstream, owner = _upstream(definition)
    keys = {
        name: json.dumps(step["Arguments"].get("Conditions", []), sort_keys=True)
        for name, step in steps.items()
        if step["Type"] == "Condition"
    }
    gate_keys = [keys[gate] for gate in gates]
    others = sorted(set(keys.values()) - set(gate_keys))
    problems: list[str] = []
    for passed in itertools.product((True, False), repeat=len(gates)):
        for inner in itertools.product((True, False), repeat=len(others)):
            decide = dict(zip(gate_keys, passed, strict=True)) | dict(zip(others, inner, strict=True))
            ran = _runs(steps, upstream, owner, decide)
            fails = sorted(n for n in ran if steps[n]["Type"] == "Fail")
            outcome = ", ".join(
                f"{g} {'passes' if p else 'fails'}" for g, p in zip(gates, passed, strict=True)
            )
            if all(passed) and fails:
                problems.append(f"when {outcome}: {', '.join(fails)} still fails the run")
            if not all(passed) and not fails:
                inner_text = f" (other conditions: {inner})" if others else ""
                problems.append(f"when {outcome}{inner_text}: no Fail step runs, the run would succeed")
    return problems
