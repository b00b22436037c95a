"""Change one input file -> only the steps downstream of it rerun, on the real DAG and container scripts.

Reuses the session's whole-DAG run (`full_run`, conftest.py): one line of locations.jsonl changes under
the same input path (as files change under an S3 prefix), and the rerun, in a copy of the run's home
(cache, registry) so the shared one stays as it was, retrains only the classifier branch. Cost: one tiny
classifier training and its evaluation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from pipelines.local.state import RunResult
from tests.pipelines.conftest import steps_by_name
from tests.pipelines.local.conftest import FullRun, statuses

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The definition's cached steps (CacheConfig), by the input folder they read.
SUBTITLE_STEPS = {"CleanSubtitles", "ExtractEntities", "ClassifyThemes", "PrepareSubtitleLines"}
# Each branch's drift baseline is computed from its own model and data, so it follows its branch.
CHATBOT_STEPS = {"PrepareChatbotData", "TrainChatbot", "EvaluateChatbot", "ComputeChatbotBaseline"}
# Local config tunes the classifier (TuneLocationClassifier in place of its training step); the batch
# transform of the registered classifier reads the subtitles' cues (PrepareSubtitleLines') and the
# classifier's model.
CLASSIFIER_STEPS = {
    "PrepareLocationData",
    "TuneLocationClassifier",
    "EvaluateClassifier",
    "ComputeClassifierBaseline",
}
TRANSFORM_STEP = "ClassifySubtitleLines"


def _fingerprint(result: RunResult) -> dict:
    path = Path(result.state.steps["FingerprintData"].property_files["FingerprintFile"])
    return json.loads(path.read_text(encoding="utf-8"))


def _output_folders(result: RunResult, step: str, prefix: str) -> list[Path]:
    """The run-folder paths of `step`'s outputs whose names start with `prefix` (S3 mapped locally)."""
    outputs = result.state.steps[step].properties["ProcessingOutputConfig"]["Outputs"]
    found = []
    for output in outputs:
        if output["OutputName"].startswith(prefix):
            bucket_and_key = output["S3Output"]["S3Uri"].removeprefix("s3://")
            found.append(result.run_dir / "s3" / bucket_and_key)
    assert found, f"{step} has no output named {prefix}*"
    return found


def test_a_changed_location_line_reruns_only_the_classifier_branch(
    full_run: tuple[FullRun, RunResult, str], tmp_path: Path
) -> None:
    runner, first, first_output = full_run
    assert first.ok, first_output
    home = tmp_path / "home"
    # The cache, registry and deployed models of the first run; not its run folders (not needed), nor
    # `latest`, which links into them.
    shutil.copytree(runner.home, home, ignore=shutil.ignore_patterns("runs", "latest"))
    locations = runner.data / "locations" / "locations.jsonl"
    original = locations.read_bytes()
    lines = original.decode("utf-8").splitlines(keepends=True)
    row = json.loads(lines[0])
    row["description"] += " A radio crackles in the corner."
    lines[0] = json.dumps(row) + "\n"
    try:
        locations.write_text("".join(lines), encoding="utf-8")
        result, output = runner.run(home=home)
    finally:
        locations.write_bytes(original)  # the shared data as the other e2e tests expect it

    assert result.ok, output
    before, after = _fingerprint(first), _fingerprint(result)
    assert after["folders"]["locations"]["sha256"] != before["folders"]["locations"]["sha256"]
    for folder in ("subtitles", "transcripts"):
        assert after["folders"][folder] == before["folders"][folder], folder

    state = statuses(result)
    assert state["FingerprintData"] == ("Succeeded", "off")  # uncached: it sees today's data
    with_cache = {name for name, step in steps_by_name(runner.definition).items() if "CacheConfig" in step}
    assert with_cache == SUBTITLE_STEPS | CHATBOT_STEPS | CLASSIFIER_STEPS
    assert {name: state[name] for name in SUBTITLE_STEPS | CHATBOT_STEPS} == dict.fromkeys(
        SUBTITLE_STEPS | CHATBOT_STEPS, ("Cached", "hit")
    )
    assert {name: state[name] for name in CLASSIFIER_STEPS | {TRANSFORM_STEP}} == dict.fromkeys(
        CLASSIFIER_STEPS | {TRANSFORM_STEP}, ("Succeeded", "miss")
    )
    # The same chatbot model is found in its group, so it is not registered again (nor redeployed);
    # the new classifier is registered as a new version and deployed.
    found = result.state.steps["FindChatbotVersion"].properties["OutputParameters"]
    assert found["found"] == "true"
    assert found["version"] == str(first.state.steps["RegisterChatbot"].properties["ModelPackageVersion"])
    assert state["RegisterChatbot"][0] == state["DeployChatbot"][0] == "Skipped"
    assert state["RegisterClassifier"] == ("Succeeded", "miss")
    assert result.state.steps["DeployClassifier"].properties["OutputParameters"]["action"] == "deploy"

    # The retrained classifier is a new version and now serves; the chatbot keeps its version.
    registry = LocalRegistry(home / "registry.db")
    chatbot = registry.latest_approved("stranger-things-chatbot")
    classifier = registry.latest_approved("stranger-things-location-classifier")
    assert chatbot is not None and classifier is not None
    assert chatbot.version == first.state.steps["RegisterChatbot"].properties["ModelPackageVersion"]
    assert classifier.version == result.state.steps["RegisterClassifier"].properties["ModelPackageVersion"]
    assert classifier.version != first.state.steps["RegisterClassifier"].properties["ModelPackageVersion"]
    # The rerun's location splits hold the edited text: it read the changed file, not a stale copy.
    rows = [
        json.loads(line)
        for folder in _output_folders(result, "PrepareLocationData", "classifier_")
        for path in folder.glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert sum("A radio crackles in the corner." in r["text"] for r in rows) == 1
    served = {e.name: e.version for e in registry.list_endpoints()}
    assert served["stranger-things-nlp-local-classifier"] == classifier.version
    assert served["stranger-things-nlp-local-chatbot"] == chatbot.version
