"""The local workspace reads a run folder with the runner's own readers (state.json, the run's S3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conf import load_config
from pipelines.local.state import RunState, StepRecord
from workspace.local import LocalWorkspace

GRAPH = {"nodes": ["Eleven", "Mike"], "edges": [["Eleven", "Mike", 3]]}


def write_run(home: Path, execution: str, status: str) -> None:
    run_dir = home / "runs" / execution
    run_dir.mkdir(parents=True)
    uri = "s3://hawkins-lab/runs/ExtractEntities/entities"
    target = run_dir / "s3" / "hawkins-lab" / "runs" / "ExtractEntities" / "entities" / "graph.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(GRAPH), encoding="utf-8")
    properties = {
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "entities", "S3Output": {"S3Uri": uri}}]}
    }
    steps = {
        "ExtractEntities": StepRecord(
            "ExtractEntities", "Processing", status="Succeeded", cache="hit", properties=properties
        ),
        "TrainChatbot": StepRecord("TrainChatbot", "Training", status="Failed", message="out of memory"),
    }
    RunState({"PipelineExecutionId": execution}, {}, steps, status=status).save(run_dir / "state.json")


def test_runs_steps_and_outputs_come_from_the_run_folder(tmp_path: Path) -> None:
    write_run(tmp_path, "20261130-010000-aaaa", "Succeeded")
    write_run(tmp_path, "20261130-020000-bbbb", "Failed")
    ws = LocalWorkspace(load_config("local"), tmp_path)

    latest = ws.latest_execution()
    assert latest == "20261130-020000-bbbb"
    assert ws.execution_status(latest) == "Failed"
    assert ws.execution_steps(latest) == [
        {"name": "ExtractEntities", "status": "Succeeded", "cache": "hit", "message": ""},
        {"name": "TrainChatbot", "status": "Failed", "cache": "-", "message": "out of memory"},
    ]
    assert json.loads(ws.read_output(latest, "ExtractEntities", "entities", "graph.json")) == GRAPH
    with pytest.raises(KeyError, match="no step 'CleanSubtitles' in run 20261130-020000-bbbb"):
        ws.read_output(latest, "CleanSubtitles", "cleaned", "x.jsonl")


def test_no_runs_yet_says_how_to_make_one(tmp_path: Path) -> None:
    ws = LocalWorkspace(load_config("local"), tmp_path)
    with pytest.raises(FileNotFoundError, match="run `make run-local` first"):
        ws.latest_execution()
