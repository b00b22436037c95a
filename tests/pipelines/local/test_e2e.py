"""The whole local definition on data/sample: the suite's one full run, shared by every test here.

Runs the definition `python -m pipelines definition --env local` writes, with the real container
scripts and tiny models, then checks the cached rerun, a gate's false branch through the CLI, and the
deployed endpoints over HTTP.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model_registry.local import LocalRegistry
from pipelines.bundle import REPO_ROOT, bundle_files
from pipelines.local.progress import Reporter
from pipelines.local.runner import RunOptions, RunResult, run_definition
from tests.pipelines.conftest import definition_text
from tests.pipelines.local.conftest import statuses
from tests.pipelines.local.test_server import call, serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = REPO_ROOT / "data" / "sample"
CHATBOT_ENDPOINT = "stranger-things-nlp-local-chatbot"
CLASSIFIER_ENDPOINT = "stranger-things-nlp-local-classifier"


class FullRun:
    """The shared home folder and definition, and a way to run them again."""

    def __init__(self, home: Path, code: Path) -> None:
        self.home = home
        # The jobs run a snapshot of the code bundle, so edits to the tree during the session do not
        # invalidate the cache between these tests (identical content: the same cache keys as the tree).
        self.code = code
        for name in bundle_files(REPO_ROOT):
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, code / name)
        self.definition: dict[str, Any] = json.loads(definition_text("local"))
        self.definition_file = home / "definition-local.json"
        home.mkdir(parents=True, exist_ok=True)
        self.definition_file.write_text(json.dumps(self.definition))

    def run(self) -> tuple[RunResult, str]:
        stream = io.StringIO()
        options = RunOptions(home=self.home, repo_root=self.code, pipeline_name="stranger-things-nlp-local")
        result = run_definition(self.definition, options, Reporter(stream), {"InputDataUri": str(DATA)})
        return result, stream.getvalue()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FullRun, RunResult, str]]:
    runner = FullRun(tmp_path_factory.mktemp("local-run-home"), tmp_path_factory.mktemp("local-run-code"))
    result, output = runner.run()
    yield runner, result, output


def test_whole_dag_runs_gates_pass_models_register_and_deploy(
    full_run: tuple[FullRun, RunResult, str],
) -> None:
    runner, result, output = full_run
    assert result.ok, output
    assert {r.status for r in result.state.steps.values()} == {"Succeeded", "Skipped"}
    assert sorted(n for n, r in result.state.steps.items() if r.status == "Skipped") == [
        "ChatbotBelowThreshold",
        "ClassifierBelowThreshold",
    ]
    for gate in ("ChatbotQualityGate", "ClassifierQualityGate"):
        assert result.state.steps[gate].decision["branch"] == "if"

    registry = LocalRegistry(runner.home / "registry.db")
    chatbot = registry.latest_approved("stranger-things-chatbot")
    classifier = registry.latest_approved("stranger-things-location-classifier")
    assert chatbot is not None and classifier is not None
    # The registered metrics are the evaluation reports' values, the ones the gates compared.
    report = json.loads(
        Path(result.state.steps["EvaluateChatbot"].property_files["ChatbotEvaluationReport"]).read_text()
    )
    assert chatbot.metrics["bleu"] == report["chatbot_metrics"]["bleu"]["value"]
    assert {e.name: (e.group, e.version) for e in registry.list_endpoints()} == {
        CHATBOT_ENDPOINT: ("stranger-things-chatbot", chatbot.version),
        CLASSIFIER_ENDPOINT: ("stranger-things-location-classifier", classifier.version),
    }
    for section in ("Metrics:", "Quality gates:", "Registered:", "Endpoints:"):
        assert section in output


def test_unchanged_rerun_reuses_every_cacheable_step(full_run: tuple[FullRun, RunResult, str]) -> None:
    runner, first, _ = full_run
    result, output = runner.run()

    assert result.ok, output
    cached = {name: status for name, status in statuses(result).items() if status[1] != "-"}
    # FingerprintData is uncached in the definition (it keys everything else): it runs, the rest is reused.
    assert cached.pop("FingerprintData") == ("Succeeded", "off")
    assert set(cached.values()) == {("Cached", "hit")}
    assert len(cached) == 13
    assert (
        result.state.steps["RegisterChatbot"].properties["ModelPackageVersion"]
        == (first.state.steps["RegisterChatbot"].properties["ModelPackageVersion"])
    )


def test_gate_false_branch_fails_the_run_with_its_message(
    full_run: tuple[FullRun, RunResult, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.__main__ import main

    runner, _, _ = full_run
    code = main(
        [
            "run-local",
            "--definition",
            str(runner.definition_file),
            "--home",
            str(runner.home),
            "--data",
            str(DATA),
            "--param",
            "ChatbotGateThreshold=1000",
            "--quiet",
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED ChatbotBelowThreshold (Fail): chatbot bleu = " in out
    tail = "(chatbot_metrics.bleu.value in evaluation.json); the model was not registered."
    assert f", below the threshold 1000.0 {tail}" in out


def test_deployed_endpoints_answer_over_http(full_run: tuple[FullRun, RunResult, str]) -> None:
    runner, _, _ = full_run
    for base in serve(LocalRegistry(runner.home / "registry.db")):
        status, body = call(
            base,
            f"/endpoints/{CHATBOT_ENDPOINT}/invocations",
            {"messages": [{"role": "user", "content": "Where is Will?"}]},
        )
        assert status == 200 and isinstance(body["reply"], str) and body["usage"]["completion_tokens"] >= 1
        status, body = call(
            base,
            f"/endpoints/{CLASSIFIER_ENDPOINT}/invocations",
            {"inputs": "The kids ride their bikes through the woods at night"},
        )
        assert status == 200
        assert {p["label"] for p in body["predictions"]} <= set(
            json.loads(
                (
                    runner.home / "deployed" / "stranger-things-location-classifier" / "v1" / "label_map.json"
                ).read_text()
            )["label2id"]
        )
        status, body = call(base, f"/endpoints/{CHATBOT_ENDPOINT}/invocations", {"messages": []})
        assert status == 400 and "messages" in body["error"]
