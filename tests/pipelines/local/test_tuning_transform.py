"""Tuning and Transform steps in the local runner, on the demo project (jobs of milliseconds).

The demo's Train step becomes a Tuning step over its `epochs` (the demo script prints `METRIC fit=`,
highest at 7 epochs), the steps after it read the best trial's model as the pipeline does
(BestTrainingJob.TrainingJobName), and a Transform step runs the registered model's handler over JSON
Lines files. The real classifier's tuning and transform run in test_e2e.py (the whole local DAG).
"""

from __future__ import annotations

import copy
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.pipelines.local import demo_project
from tests.pipelines.local.conftest import DemoRunner, statuses

MODEL_DATA = {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
BEST_MODEL = {
    "Std:Join": {
        "On": "/",
        "Values": [
            demo_project.BUCKET,
            "runs",
            {"Get": "Execution.PipelineExecutionId"},
            "Tune",
            "model",
            {"Get": "Steps.Tune.BestTrainingJob.TrainingJobName"},
            "output",
            "model.tar.gz",
        ],
    }
}
LINES = [{"text": "the lab"}, {"text": "the arcade"}, {"text": "the quarry"}]


def tuning_step(max_jobs: int = 3, warm_start: str | None = None) -> dict[str, Any]:
    train = copy.deepcopy(demo_project.TRAIN["Arguments"])
    hyperparameters = train.pop("HyperParameters")
    train.pop("CheckpointConfig")
    train["AlgorithmSpecification"]["MetricDefinitions"].append(
        {"Name": "fit", "Regex": "METRIC fit=([-+0-9.eE]+)"}
    )
    train["StaticHyperParameters"] = {k: v for k, v in hyperparameters.items() if k != "epochs"}
    train["OutputDataConfig"]["S3OutputPath"] = {
        "Std:Join": {
            "On": "/",
            "Values": [
                demo_project.BUCKET,
                "runs",
                {"Get": "Execution.PipelineExecutionId"},
                "Tune",
                "model",
            ],
        }
    }
    arguments: dict[str, Any] = {
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "fit"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {
                "IntegerParameterRanges": [
                    {"Name": "epochs", "MinValue": "1", "MaxValue": "9", "ScalingType": "Linear"}
                ]
            },
            "TrainingJobEarlyStoppingType": "Off",
            "RandomSeed": 7,
        },
        "TrainingJobDefinition": train,
    }
    if warm_start:
        arguments["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": warm_start}],
            "WarmStartType": "IdenticalDataAndAlgorithm",
        }
    return {
        "Name": "Tune",
        "Type": "Tuning",
        "Arguments": arguments,
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
    }


TRANSFORM = {
    "Name": "Label",
    "Type": "Transform",
    "Arguments": {
        "ModelName": {"Get": "Steps.CreateModel.ModelName"},
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 1,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    # A key prefix: lines/batch-1.jsonl and lines/batch-2.jsonl, not lines/notes.txt.
                    "S3Uri": {
                        "Std:Join": {"On": "/", "Values": [{"Get": "Parameters.InputDataUri"}, "lines/batch"]}
                    },
                }
            },
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": {
                "Std:Join": {
                    "On": "/",
                    "Values": [
                        demo_project.BUCKET,
                        "runs",
                        {"Get": "Execution.PipelineExecutionId"},
                        "Label",
                    ],
                }
            },
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    },
}


def tuned_definition(definition: dict[str, Any], **tuning: Any) -> dict[str, Any]:
    """The demo with Tune in Train's place (downstream reads the best model) and Label after CreateModel."""
    text = json.dumps(definition).replace(json.dumps(MODEL_DATA), json.dumps(BEST_MODEL))
    tuned = json.loads(text)
    tuned["Steps"] = [tuning_step(**tuning) if s["Name"] == "Train" else s for s in tuned["Steps"]]
    gate = next(s for s in tuned["Steps"] if s["Name"] == "Gate")
    gate["Arguments"]["IfSteps"].append(copy.deepcopy(TRANSFORM))
    return tuned


@pytest.fixture
def tuned(demo: DemoRunner) -> DemoRunner:
    (demo.data / "lines").mkdir()
    (demo.data / "lines" / "batch-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in LINES[:2]))
    (demo.data / "lines" / "batch-2.jsonl").write_text(json.dumps(LINES[2]) + "\n")
    (demo.data / "lines" / "notes.txt").write_text("not a batch input\n")
    return demo


def model_epochs(tarball: Path) -> str:
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("model.json")
        assert member is not None
        return str(json.load(member)["epochs"])


def test_tuning_runs_the_trials_and_the_best_trials_model_is_evaluated_registered_and_transformed(
    tuned: DemoRunner,
) -> None:
    result, output = tuned.run(definition=tuned_definition(tuned.definition()))

    assert result.ok, output
    tune = result.state.steps["Tune"].properties
    summaries = tune["TrainingJobSummaries"]
    assert len(summaries) == 3 and tuned.calls_made().count("Train") == 3
    objectives = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries]
    assert objectives == sorted(objectives, reverse=True)  # best first, as ListTrainingJobs... sorts
    best = tune["BestTrainingJob"]
    assert best == summaries[0]
    epochs = best["TunedHyperParameters"]["epochs"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == -abs(int(epochs) - 7)
    assert len({s["TrainingJobName"] for s in summaries}) == 3

    # Every trial's model is where SageMaker puts it; the steps after Tune read the best one's.
    best_uri = f"/Tune/model/{best['TrainingJobName']}/output/model.tar.gz"
    evaluated = result.state.steps["Evaluate"].properties["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    registered = result.state.steps["Register"].properties["InferenceSpecification"]["Containers"][0]
    assert evaluated.endswith(best_uri) and registered["ModelDataUrl"].endswith(best_uri)
    for summary in summaries:
        trial_uri = evaluated.replace(best["TrainingJobName"], summary["TrainingJobName"])
        trial_model = result.run_dir / "s3" / trial_uri.removeprefix("s3://")
        assert model_epochs(trial_model) == summary["TunedHyperParameters"]["epochs"]

    # The transform: one .out per input file under the prefix, a line per record, from the best model.
    out = (
        result.run_dir
        / "s3"
        / "demo-bucket"
        / "demo"
        / "runs"
        / result.state.execution["PipelineExecutionId"]
        / "Label"
    )
    assert sorted(p.name for p in out.iterdir()) == ["batch-1.jsonl.out", "batch-2.jsonl.out"]
    answers = [
        json.loads(line)
        for name in ("batch-1.jsonl.out", "batch-2.jsonl.out")
        for line in (out / name).read_text().splitlines()
    ]
    assert answers == [{"echo": r["text"].upper(), "epochs": epochs} for r in LINES]
    assert statuses(result)["Label"] == ("Succeeded", "miss")


def test_a_rerun_reuses_every_trial_and_the_transform(tuned: DemoRunner) -> None:
    definition = tuned_definition(tuned.definition())
    first, _ = tuned.run(definition=definition)
    again, output = tuned.run(definition=definition)

    assert again.ok, output
    assert statuses(again)["Tune"] == ("Cached", "hit")
    assert statuses(again)["Label"] == ("Cached", "hit")
    assert tuned.calls_made().count("Train") == 3
    best = again.state.steps["Tune"].properties["BestTrainingJob"]
    assert (
        best["TunedHyperParameters"]
        == first.state.steps["Tune"].properties["BestTrainingJob"]["TunedHyperParameters"]
    )


def test_warm_start_gives_the_parents_trials_to_the_sampler(tuned: DemoRunner) -> None:
    parent, _ = tuned.run(definition=tuned_definition(tuned.definition()))
    parent_job = parent.state.steps["Tune"].properties["HyperParameterTuningJobName"]

    child, output = tuned.run(
        definition=tuned_definition(tuned.definition(), max_jobs=2, warm_start=parent_job)
    )

    assert child.ok, output
    log = Path(child.state.steps["Tune"].log).read_text()
    assert "3 warm-start trials from parents" in log
    assert len(child.state.steps["Tune"].properties["TrainingJobSummaries"]) == 2


def test_warm_start_from_an_unknown_job_fails_the_step_naming_it(tuned: DemoRunner) -> None:
    result, _ = tuned.run(definition=tuned_definition(tuned.definition(), warm_start="no-such-tuning"))

    assert not result.ok
    assert "no local tuning job 'no-such-tuning'" in result.state.steps["Tune"].message
    assert tuned.calls_made().count("Train") == 0


def test_a_transform_whose_handler_drops_records_fails(tuned: DemoRunner) -> None:
    handler = tuned.root / "containers" / "demo" / "handler.py"
    handler.write_text(
        handler.read_text().replace('for line in data["lines"]]', 'for line in data["lines"]][:1]')
    )

    result, _ = tuned.run(definition=tuned_definition(tuned.definition()))

    assert not result.ok
    assert result.state.steps["Label"].status == "Failed"
    log = Path(result.state.steps["Label"].log).read_text()
    assert "2 records in, 1 lines out" in log
