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
from pipelines.local.runner import latest_run
from pipelines.local.state import RunResult, RunState
from steps import names
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
    # Both gates pass: every Fail step and the verdicts on the untaken branches are skipped; the verdicts
    # after each deploy ran and found the other model's gate passed.
    verdicts = names.VERDICT_STEPS
    assert sorted(n for n, r in result.state.steps.items() if r.status == "Skipped") == sorted(
        [
            *(v["failed"][0] for v in verdicts.values()),
            *(v["registered"][0] for v in verdicts.values()),
            *(v["known"][0] for v in verdicts.values()),  # a first run: nothing is in the groups yet
        ]
        + [fail for v in verdicts.values() for _, fail in v.values()]
    )
    for gate in (
        "ChatbotQualityGate",
        "ClassifierQualityGate",
        *(v["deployed"][0] for v in verdicts.values()),
    ):
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


def test_the_best_trial_of_the_tuning_is_the_model_evaluated_registered_and_transformed(
    full_run: tuple[FullRun, RunResult, str],
) -> None:
    runner, result, output = full_run
    assert result.ok, output
    assert "TrainLocationClassifier" not in result.state.steps  # conf/local.yaml tunes the classifier
    tune = result.state.steps["TuneLocationClassifier"].properties
    summaries = tune["TrainingJobSummaries"]
    assert 1 <= len(summaries) <= 3
    scores = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert scores == sorted(scores, reverse=True)  # eval_macro_f1, maximised: best first
    best = tune["BestTrainingJob"]
    assert best == summaries[0] and best["ObjectiveStatus"] == "Succeeded"
    # The objective is the last eval_macro_f1 METRIC line of the best trial's own log.
    execution = result.state.execution["PipelineExecutionId"]
    trial = best["TrainingJobName"].removeprefix(f"pipelines-{execution}-")
    assert trial.startswith("TuneLocationClassifier-")
    values = re.findall(
        r"METRIC eval_macro_f1=([-+0-9.eE]+)", (result.run_dir / "logs" / f"{trial}.log").read_text()
    )
    assert float(values[-1]) == best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    best_model = f"{best['TrainingJobName']}/output/model.tar.gz"
    evaluated = result.state.steps["EvaluateClassifier"].properties["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert evaluated.endswith(best_model)
    classifier = LocalRegistry(runner.home / "registry.db").latest_approved(
        "stranger-things-location-classifier"
    )
    assert classifier is not None and classifier.model_data_url.endswith(best_model)

    # The batch transform: one prediction per cleaned subtitle line, labels of the registered model. Its
    # input is PrepareSubtitleLines' (one file per episode): the sample has one, so the cleaned cues as is.
    def cues_of(step: str) -> Path:
        output = result.state.steps[step].properties["ProcessingOutputConfig"]["Outputs"][0]
        return result.run_dir / "s3" / output["S3Output"]["S3Uri"].removeprefix("s3://") / "cues.jsonl"

    cues = cues_of("PrepareSubtitleLines")
    assert cues.read_bytes() == cues_of("CleanSubtitles").read_bytes()
    transform = result.state.steps["ClassifySubtitleLines"].properties["TransformOutput"]["S3OutputPath"]
    predictions = result.run_dir / "s3" / transform.removeprefix("s3://") / "cues.jsonl.out"
    labels = json.loads(
        (
            runner.home / "deployed" / "stranger-things-location-classifier" / "v1" / "label_map.json"
        ).read_text()
    )["label2id"]
    answers = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(answers) == len(cues.read_text().splitlines()) > 0
    assert {a["label"] for a in answers} <= set(labels)


def test_each_registered_version_carries_a_card_with_the_runs_figures(
    full_run: tuple[FullRun, RunResult, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from model_registry.cards import metric_figures
    from model_registry.cli import build_parser, main
    from model_registry.metrics import metrics_from_report

    runner, result, _ = full_run
    registry = LocalRegistry(runner.home / "registry.db")
    fingerprint = json.loads(
        Path(result.state.steps["FingerprintData"].property_files["FingerprintFile"]).read_text()
    )
    for model, report_name, folder in (
        ("Chatbot", "ChatbotEvaluationReport", "transcripts"),
        ("Classifier", "ClassifierEvaluationReport", "locations"),
    ):
        register = result.state.steps[f"Register{model}"].properties
        group, version = register["ModelPackageGroupName"], register["ModelPackageVersion"]
        card = registry.card(group, version)
        assert card is not None, f"{group} v{version} has no card"
        registered = registry.get(group, version)
        figures = metric_figures(card)
        report = metrics_from_report(
            json.loads(Path(result.state.steps[f"Evaluate{model}"].property_files[report_name]).read_text())
        )
        assert figures and all(report[name] == registered.metrics[name] == v for name, v in figures.items())
        evaluation = card["evaluation_details"][0]["metadata"]
        assert evaluation[f"{folder}_sha256"] == fingerprint["folders"][folder]["sha256"]
        assert evaluation["pipeline_execution"] == result.state.execution["PipelineExecutionId"]

        assert (
            main(
                build_parser().parse_args(
                    ["--db", str(runner.home / "registry.db"), "card", group, str(version)]
                )
            )
            == 0
        )
        printed = capsys.readouterr().out
        assert printed.startswith(f"# Model card: {group} v{version}")
        first = sorted(figures)[0]
        assert f"{first:<22} {figures[first]:.4g}" in printed
        assert Path(register["LocalModelCardPath"]).read_text(encoding="utf-8") == printed


def test_summary_ends_with_the_files_to_open_and_latest_points_at_the_run(
    full_run: tuple[FullRun, RunResult, str],
) -> None:
    runner, result, output = full_run
    opened = output.rstrip().split("\nOpen:\n")[-1].splitlines()
    assert opened, output
    links = [line.split()[-1] for line in opened if "file://" in line]
    names = [link.rsplit("/", 1)[-1] for link in links]
    for expected in ("network.html", "themes.png", "evaluation.json", "samples.jsonl", ".card.md"):
        assert any(name.endswith(expected) for name in names), (expected, opened)
    assert names.count("evaluation.json") == 2  # one per model, each listed once
    assert sum(name.endswith(".card.md") for name in names) == 2
    for link in links:
        path = Path(link.removeprefix("file://"))
        assert path.is_absolute() and path.is_file(), link
    assert (runner.home / "latest").resolve() == result.run_dir.resolve()


def test_unchanged_rerun_reuses_every_cacheable_step(full_run: tuple[FullRun, RunResult, str]) -> None:
    runner, first, _ = full_run
    result, output = runner.run()

    assert result.ok, output
    cached = {name: status for name, status in statuses(result).items() if status[1] != "-"}
    # FingerprintData is uncached in the definition (it keys everything else): it runs, the rest is reused.
    assert cached.pop("FingerprintData") == ("Succeeded", "off")
    assert set(cached.values()) == {("Cached", "hit")}
    # 10 processing (2 are the drift baselines, 1 the batch transform's input) + 2 training steps;
    # registration, deployment and the batch transform did not run
    assert len(cached) == 12
    # A fully cached run adds no model version: FindXVersion finds the same artifact and evaluation in
    # the group, so CheckXIsNew skips registration and deployment (the endpoint already serves it).
    registry = LocalRegistry(runner.home / "registry.db")
    for model, group in (
        ("Chatbot", "stranger-things-chatbot"),
        ("Classifier", "stranger-things-location-classifier"),
    ):
        find = result.state.steps[f"Find{model}Version"].properties["OutputParameters"]
        registered = first.state.steps[f"Register{model}"].properties
        assert find["found"] == "true" and find["version"] == str(registered["ModelPackageVersion"])
        assert result.state.steps[f"Register{model}"].status == "Skipped"
        assert result.state.steps[f"Deploy{model}"].status == "Skipped"
        assert [v.version for v in registry.list_versions(group)] == [registered["ModelPackageVersion"]]


def test_a_failed_chatbot_gate_fails_the_run_after_the_classifier_registers_and_deploys(
    full_run: tuple[FullRun, RunResult, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each model's fate is its own: the chatbot misses a minimum no model reaches; the classifier's branch
    still registers and deploys a version, and only then the run fails, naming the chatbot's comparisons."""
    from pipelines.__main__ import main

    runner, _, _ = full_run
    registry = LocalRegistry(runner.home / "registry.db")
    chatbot_before = registry.latest_approved("stranger-things-chatbot")
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
    # The classifier is unchanged since the first run: FindClassifierVersion finds it in its group, so its
    # branch ends at the "already known" leaf (no second registration), whose verdict fails the run.
    head = "FAILED ChatbotBelowThresholdAfterClassifierKnown (Fail): chatbot did not pass its quality gate"
    assert head in out
    assert re.search(r": chrf = [0-9.]+ \(minimum 1000\.0\); chrf_lift = [0-9.]+ \(minimum 3\.0\)", out), out
    assert "the model was not registered. The classifier branch ran to its end before this step." in out

    state = RunState.load(latest_run(runner.home) / "state.json")
    steps = {name: record.status for name, record in state.steps.items()}
    assert state.status == "Failed"
    assert state.message.startswith("ChatbotBelowThresholdAfterClassifierKnown: chatbot did not pass")
    assert state.steps["ChatbotQualityGate"].decision["branch"] == "else"
    assert steps["RegisterChatbot"] == steps["DeployChatbot"] == "Skipped"
    # The chatbot's failed gate checked the classifier's figures, which passed: no Fail step there.
    assert state.steps["CheckClassifierGateAfterChatbotFailed"].decision["branch"] == "if"
    assert steps["ChatbotAndClassifierBelowThreshold"] == "Skipped"
    # The classifier's branch ran to its end: its version is found in the group (the first run's), not
    # registered again, and the endpoint keeps serving it.
    assert steps["FindClassifierVersion"] == "Succeeded"
    assert steps["RegisterClassifier"] == steps["DeployClassifier"] == "Skipped"
    assert not [name for name, status in steps.items() if status == "NotStarted"]
    version = int(state.steps["FindClassifierVersion"].properties["OutputParameters"]["version"])
    classifier = registry.get("stranger-things-location-classifier", version)
    assert classifier.status == "Approved"
    assert registry.latest_approved("stranger-things-chatbot") == chatbot_before
    endpoints = {e.name: (e.group, e.version) for e in registry.list_endpoints()}
    assert endpoints[CLASSIFIER_ENDPOINT] == ("stranger-things-location-classifier", version)


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
