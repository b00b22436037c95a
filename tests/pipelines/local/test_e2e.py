"""The whole local definition on data/sample: the suite's one full run (`full_run`, conftest.py).

Runs the definition `python -m pipelines definition --env local` writes, with the real container
scripts and tiny models, then checks the cached rerun, a gate's false branch through the CLI, and the
deployed endpoints over HTTP. test_e2e_partial_rerun.py reuses the same run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from model_registry.local import LocalRegistry
from pipelines.local.state import RunResult
from tests.pipelines.local.conftest import FullRun, statuses
from tests.pipelines.local.test_server import call, serve

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHATBOT_ENDPOINT = "stranger-things-nlp-local-chatbot"
CLASSIFIER_ENDPOINT = "stranger-things-nlp-local-classifier"


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
            str(runner.data),
            "--param",
            "ChatbotMinChrf=1000",
            "--quiet",
        ]
    )

    out = capsys.readouterr().out
    assert code == 1
    head = "FAILED ChatbotBelowThreshold (Fail): chatbot did not pass its quality gate"
    assert head in out
    assert re.search(r": chrf = [0-9.]+ \(minimum 1000\.0\); chrf_lift = [0-9.]+ \(minimum 3\.0\)", out), out
    assert (
        "Figures from chatbot_metrics.<figure>.value in evaluation.json; the model was not registered." in out
    )


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
