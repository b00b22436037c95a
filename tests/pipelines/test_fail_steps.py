"""The rule that no Fail step ends a run before work it does not wait for started (pipelines/fail_steps.py).

Each model's fate is its own: the built definitions pass the rule, and each way of breaking the design
(a Fail step on a gate's else branch, a verdict that does not wait for the deploy or the analytics) makes
it fire, naming the steps that would never start.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pipelines.fail_steps import gate_outcome_problems, stranding_problems
from pipelines.validation import flatten_steps
from steps import names


def _step(definition: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in flatten_steps(definition["Steps"]) if s["Name"] == name)


GATES = [names.CHATBOT_QUALITY_GATE, names.CLASSIFIER_QUALITY_GATE]


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_no_fail_step_can_strand_a_step_of_either_branch(definitions: dict[str, Any], env: str) -> None:
    assert stranding_problems(definitions[env]) == []


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_the_run_fails_exactly_when_a_gate_fails_whatever_the_approval(
    definitions: dict[str, Any], env: str
) -> None:
    assert gate_outcome_problems(definitions[env], GATES) == []


def test_a_leaf_without_a_verdict_lets_a_failed_gate_pass_unnoticed(definitions: dict[str, Any]) -> None:
    """A branch end with no verdict (here: a version waiting for approval) and the other gate failed."""
    broken = copy.deepcopy(definitions["dev"])
    _step(broken, names.CHATBOT_APPROVED_FOR_DEPLOY)["Arguments"]["ElseSteps"] = []
    problems = gate_outcome_problems(broken, GATES)
    # Once per outcome of the lookup condition (CheckChatbotIsNew) that leads there.
    assert len(problems) == 2
    for problem in problems:
        assert problem.startswith(
            "when ChatbotQualityGate passes, ClassifierQualityGate fails (other conditions"
        )
        assert problem.endswith("no Fail step runs, the run would succeed")


def test_a_fail_step_on_a_passing_path_fires(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    check, fail = names.VERDICT_STEPS["classifier"]["registered"]
    verdict = _step(broken, check)
    verdict["Arguments"]["IfSteps"], verdict["Arguments"]["ElseSteps"] = verdict["Arguments"]["ElseSteps"], []
    problems = gate_outcome_problems(broken, GATES)
    assert (
        f"when ChatbotQualityGate passes, ClassifierQualityGate passes: {fail} still fails the run"
        in problems
    )


def test_no_gate_has_a_fail_step_on_its_else_branch(definitions: dict[str, Any]) -> None:
    for model in ("chatbot", "classifier"):
        gate = _step(definitions["dev"], names.MODEL_STEPS[model]["gate"])
        assert [s["Type"] for s in gate["Arguments"]["ElseSteps"]] == ["Condition"]


def test_a_fail_step_on_a_gate_else_branch_fires_naming_the_other_branch(definitions: dict[str, Any]) -> None:
    """The structure before: ChatbotQualityGate's else branch failed the run at once."""
    broken = copy.deepcopy(definitions["dev"])
    gate = _step(broken, names.CHATBOT_QUALITY_GATE)
    verdict = gate["Arguments"]["ElseSteps"][0]
    gate["Arguments"]["ElseSteps"] = verdict["Arguments"]["ElseSteps"]  # the Fail step, no verdict
    (problem,) = stranding_problems(broken)
    assert problem.startswith("ChatbotAndClassifierBelowThreshold: this Fail step can run before ")
    for stranded in ("RegisterClassifier", "DeployClassifier", "ClassifyThemes"):
        assert stranded in problem
    assert "RegisterChatbot" not in problem  # on the other side of the chatbot gate: it cannot run
    assert "TrainLocationClassifier" not in problem  # upstream: the message reads the classifier's report


def test_a_verdict_that_does_not_wait_for_the_deploy_fires(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    check, fail = names.VERDICT_STEPS["classifier"]["deployed"]
    verdict = _step(broken, check)
    verdict["DependsOn"] = [d for d in verdict["DependsOn"] if d != names.DEPLOY_CLASSIFIER]
    (problem,) = stranding_problems(broken)
    assert problem.startswith(f"{fail}: this Fail step can run before ")
    assert "DeployClassifier" in problem and "RegisterClassifier" not in problem


def test_a_verdict_that_does_not_wait_for_the_analytics_fires(definitions: dict[str, Any]) -> None:
    broken = copy.deepcopy(definitions["dev"])
    check, fail = names.VERDICT_STEPS["chatbot"]["registered"]
    _step(broken, check).pop("DependsOn")
    (problem,) = stranding_problems(broken)
    # The chatbot's own baseline is waited for through RegisterChatbot; the classifier's is not.
    assert problem.startswith(
        f"{fail}: this Fail step can run before ClassifyThemes, CleanSubtitles, ComputeClassifierBaseline, "
        "ExtractEntities, PrepareSubtitleLines started"
    )


def test_validate_definition_reports_a_stranding_fail_step(definitions: dict[str, Any]) -> None:
    from pipelines.validation import validate_definition

    broken = copy.deepcopy(definitions["local"])
    gate = _step(broken, names.CLASSIFIER_QUALITY_GATE)
    gate["Arguments"]["ElseSteps"] = gate["Arguments"]["ElseSteps"][0]["Arguments"]["ElseSteps"]
    assert [str(p) for p in validate_definition(broken) if p.operation == "Fail"] == [
        f"<definition> (Fail): {message}" for message in stranding_problems(broken)
    ]
    assert validate_definition(definitions["local"]) == []
