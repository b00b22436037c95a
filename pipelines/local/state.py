"""A run's state: one record per step, saved to `<run>/state.json` after every change (for --resume);
and the `RunResult` a finished run hands to the summary and to its caller."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.local.dag import Dag

# Status values, as SageMaker names them where it has a name for them.
PENDING, RUNNING = "Pending", "Executing"
SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED = "Succeeded", "Cached", "Failed", "Skipped", "NotStarted"
STOPPED = "Stopped"  # SageMaker's status of a step or execution stopped on request (here: SIGINT/SIGTERM)
DONE_OK = {SUCCEEDED, CACHED}
TERMINAL = {SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED, STOPPED}


@dataclass
class StepRecord:
    """What happened to one step in this run."""

    name: str
    type: str
    status: str = PENDING
    cache: str = "-"  # hit | miss | off | - (not cacheable)
    duration_s: float | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    log: str | None = None
    decision: dict[str, Any] | None = None  # Condition steps: outcomes and the branch taken
    key: str | None = None
    # Job steps: the content digest of each input that is the user's data (not code, not an earlier
    # step's output), as the step read it. --resume reruns the step when one of them has changed since.
    data_inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class RunState:
    """Everything `--resume` needs to continue a run where it stopped."""

    execution: dict[str, str]
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]
    status: str = RUNNING
    message: str = ""
    use_cache: bool = True  # False for a --no-cache run; --resume keeps it

    def save(self, path: Path) -> None:
        data = {
            "execution": self.execution,
            "parameters": self.parameters,
            "status": self.status,
            "message": self.message,
            "options": {"use_cache": self.use_cache},
            "steps": {name: asdict(record) for name, record in self.steps.items()},
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> RunState:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no run state here; --resume needs the folder of an earlier run")
        data = json.loads(path.read_text(encoding="utf-8"))
        steps = {name: StepRecord(**record) for name, record in data["steps"].items()}
        return cls(
            data["execution"],
            data["parameters"],
            steps,
            data.get("status", FAILED),
            data.get("message", ""),
            bool(data.get("options", {}).get("use_cache", True)),
        )


@dataclass
class RunResult:
    """A finished run: its status, folder, final state and DAG (what the summary reads)."""

    status: str
    run_dir: Path
    state: RunState
    dag: Dag
    duration_s: float
    stop_signal: int | None = None  # the signal that stopped the run (SIGINT, SIGTERM), if one did

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED
