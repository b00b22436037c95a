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
DONE_OK = {SUCCEEDED, CACHED}
TERMINAL = {SUCCEEDED, CACHED, FAILED, SKIPPED, NOT_STARTED}


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


@dataclass
class RunState:
    """Everything `--resume` needs to continue a run where it stopped."""

    execution: dict[str, str]
    parameters: dict[str, Any]
    steps: dict[str, StepRecord]
    status: str = RUNNING
    message: str = ""

    def save(self, path: Path) -> None:
        data = {
            "execution": self.execution,
            "parameters": self.parameters,
            "status": self.status,
            "message": self.message,
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
            data["execution"], data["parameters"], steps, data.get("status", FAILED), data.get("message", "")
        )


@dataclass
class RunResult:
    """A finished run: its status, folder, final state and DAG (what the summary reads)."""

    status: str
    run_dir: Path
    state: RunState
    dag: Dag
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED
