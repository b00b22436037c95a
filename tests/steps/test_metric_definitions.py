"""Each training metric definition's regex against a real log of its script (not a hand-written line).

SageMaker applies MetricDefinitions to the job's log stream (the script's stdout/stderr, as CloudWatch
Logs holds it) and charts the first capture group of every match. Here each script runs as the job runs
it, a subprocess with tiny settings, and every regex must find the values the script itself recorded.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from steps.models import MODEL_SPECS, spec
from steps.train import metric_definitions
from tests.containers.conftest import chatbot_argv, classifier_argv
from tests.containers.fixtures import write_datasets

REPO = Path(__file__).resolve().parents[2]
QUICK = {
    "chatbot": {"max_steps": 4, "pretrain_steps": 5, "save_steps": 2, "logging_steps": 1, "merge": "false"},
    "classifier": {"epochs": 2},
}


@pytest.fixture(scope="module", params=sorted(MODEL_SPECS))
def job_log(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str, Path]:
    """(model, the job's combined stdout and stderr, its run folder) of one tiny training run."""
    model = request.param
    data = write_datasets(tmp_path_factory.mktemp("data"))
    run = tmp_path_factory.mktemp(model)
    argv = (chatbot_argv if model == "chatbot" else classifier_argv)(data, run, **QUICK[model])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH="")  # as the job runs it: the script alone
    done = subprocess.run(
        [sys.executable, str(REPO / spec(model).train_script), *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=run,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return model, done.stdout + done.stderr, run


def test_every_metric_definition_matches_the_real_log(job_log: tuple[str, str, Path]) -> None:
    model, log, _ = job_log
    for definition in metric_definitions(model):
        values = re.findall(definition["Regex"], log)
        assert values, f"{definition['Name']}: no line of the {model} log matches {definition['Regex']!r}"
        assert all(math.isfinite(float(v)) for v in values), (definition["Name"], values)
    assert {d["Name"] for d in metric_definitions(model)} == set(spec(model).training_metrics)


def test_the_charted_values_are_the_ones_the_script_recorded(job_log: tuple[str, str, Path]) -> None:
    model, log, run = job_log
    regex = {d["Name"]: d["Regex"] for d in metric_definitions(model)}
    charted = [float(v) for v in re.findall(regex["train_loss"], log)]
    history = json.loads((run / "output" / "training_metrics.json").read_text())["log_history"]
    recorded = [entry["loss"] for entry in history if "loss" in entry]
    assert charted == pytest.approx(recorded, rel=1e-5)  # printed with %.6g
    eval_charted = [float(v) for v in re.findall(regex["eval_loss"], log)]
    assert eval_charted == pytest.approx([e["eval_loss"] for e in history if "eval_loss" in e], rel=1e-5)
