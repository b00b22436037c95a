"""The plan names exactly the steps the next execution recomputes, and why, on the real local definition."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conf import load_config
from pipelines.plan.cache_plan import HIT, NO_JOB, RECOMPUTE, RUNS, Execution, StepPlan, plan_execution
from pipelines.plan.local_baseline import local_fingerprints
from project.bundle import REPO_ROOT
from tests.pipelines.conftest import steps_by_name

SAMPLE = REPO_ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "sample"
    shutil.copytree(SAMPLE, folder)
    return folder


def run_of(definition: dict[str, Any], data: Path, **overrides: Any) -> Execution:
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    parameters.update({"InputDataUri": str(data), **overrides})
    return Execution(definition, parameters, local_fingerprints(str(data)))


def by_status(plans: list[StepPlan]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for plan in plans:
        found.setdefault(plan.status, set()).add(plan.name)
    return found


def reasons(plans: list[StepPlan]) -> dict[str, tuple[str, ...]]:
    return {plan.name: plan.reasons for plan in plans}


JOBS = {
    "CleanSubtitles",
    "ExtractEntities",
    "ClassifyThemes",
    "PrepareSubtitleLines",
    "PrepareChatbotData",
    "TrainChatbot",
    "EvaluateChatbot",
    "ComputeChatbotBaseline",
    "PrepareLocationData",
    "TuneLocationClassifier",  # conf/local.yaml tunes the classifier
    "EvaluateClassifier",
    "ComputeClassifierBaseline",
}


def test_an_unchanged_tree_and_data_hit_every_cached_step(definitions: dict[str, Any], data: Path) -> None:
    plans = plan_execution(run_of(definitions["local"], data), run_of(definitions["local"], data))
    status = by_status(plans)
    assert status[HIT] == JOBS
    # Uncached by design: FingerprintData computes the data keys; the batch transform has no CacheConfig
    # (its key would hold a per-execution ModelName, steps/transform.py).
    assert status[RUNS] == {"FingerprintData", "ClassifySubtitleLines"}
    assert RECOMPUTE not in status
    assert all(plan.status == NO_JOB for plan in plans if plan.type in ("Condition", "Fail", "RegisterModel"))


def test_no_previous_run_recomputes_every_cached_step(definitions: dict[str, Any], data: Path) -> None:
    plans = plan_execution(run_of(definitions["local"], data), None)
    assert by_status(plans)[RECOMPUTE] == JOBS


def test_a_changed_hyperparameter_recomputes_that_models_training_and_downstream(
    definitions: dict[str, Any], data: Path
) -> None:
    previous = definitions["local"]
    current = copy.deepcopy(previous)
    train = steps_by_name(current)["TrainChatbot"]
    train["Arguments"]["HyperParameters"]["lora_r"] = str(
        int(train["Arguments"]["HyperParameters"]["lora_r"]) * 2
    )
    plans = plan_execution(run_of(current, data), run_of(previous, data))
    assert by_status(plans)[RECOMPUTE] == {"TrainChatbot", "EvaluateChatbot", "ComputeChatbotBaseline"}
    why = reasons(plans)
    assert any(r.startswith("hyperparameter lora_r ") for r in why["TrainChatbot"])
    assert why["EvaluateChatbot"] == ("upstream TrainChatbot recomputes",)


def test_a_changed_parameter_default_is_a_changed_argument(definitions: dict[str, Any], data: Path) -> None:
    definition = definitions["local"]
    epochs = next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == "ClassifierEpochs")
    plans = plan_execution(run_of(definition, data, ClassifierEpochs=epochs + 1), run_of(definition, data))
    assert by_status(plans)[RECOMPUTE] == {
        "TuneLocationClassifier",
        "EvaluateClassifier",
        "ComputeClassifierBaseline",
    }
    assert any("epochs" in r for r in reasons(plans)["TuneLocationClassifier"])


def test_a_changed_location_file_recomputes_only_the_classifier_branch(
    definitions: dict[str, Any], data: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "sample"
    shutil.copytree(data, changed)
    location_file = sorted((changed / "locations").iterdir())[0]
    location_file.write_text(location_file.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    definition = definitions["local"]
    before = run_of(definition, data)
    after = Execution(definition, before.parameters, local_fingerprints(str(changed)))
    plans = plan_execution(after, before)
    assert by_status(plans)[RECOMPUTE] == {
        "PrepareLocationData",
        "TuneLocationClassifier",
        "EvaluateClassifier",
        "ComputeClassifierBaseline",
    }
    assert any(r.startswith("data locations/ changed") for r in reasons(plans)["PrepareLocationData"])
    assert by_status(plans)[HIT] == JOBS - by_status(plans)[RECOMPUTE]


def test_a_previous_run_that_did_not_finish_a_step_has_nothing_to_reuse(
    definitions: dict[str, Any], data: Path
) -> None:
    run = run_of(definitions["local"], data)
    partial = Execution(
        run.definition, run.parameters, run.fingerprints, completed=frozenset(JOBS - {"ClassifyThemes"})
    )
    plans = plan_execution(run, partial)
    assert by_status(plans)[RECOMPUTE] == {"ClassifyThemes"}


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for folder in ("containers", "conf"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _definition(root: Path) -> dict[str, Any]:
    from pipelines.definition import definition_json

    return json.loads(definition_json(load_config("local"), root=root))


@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        # decoding.py is run by CleanSubtitles only: it and the three steps that read its output.
        (
            "containers/processing/decoding.py",
            {"CleanSubtitles", "ExtractEntities", "ClassifyThemes", "PrepareSubtitleLines"},
        ),
        # chat_data.py is imported by the chatbot's training and evaluation, nothing else.
        ("containers/training/chat_data.py", {"TrainChatbot", "EvaluateChatbot", "ComputeChatbotBaseline"}),
        # a conf file the jobs read: themes.yaml is read by ClassifyThemes alone.
        ("conf/themes.yaml", {"ClassifyThemes"}),
    ],
)
def test_editing_one_file_recomputes_exactly_the_steps_that_run_it_and_downstream(
    edited: str, expected: set[str], tmp_path: Path, data: Path
) -> None:
    root = _tree(tmp_path)
    before = _definition(root)
    path = root / edited
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after = _definition(root)
    plans = plan_execution(run_of(after, data), run_of(before, data))
    assert by_status(plans)[RECOMPUTE] == expected
    assert all(
        any(r.startswith(("code changed", "upstream ")) for r in reasons(plans)[name]) for name in expected
    )
