"""The workspace over a local home folder: run folders, the SQLite registry, endpoints in-process.

Reads run folders with the local runner's own readers (RunState, RunStorage, latest_run), so what a
notebook shows is what `make run-local` recorded, by the same code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conf.schema import Config
from model_registry.backend import LocalBackend
from model_registry.local_endpoints import EndpointPool
from pipelines.local.runner import latest_run
from pipelines.local.state import RunState
from pipelines.local.storage import RunStorage
from project.bundle import REPO_ROOT
from project.defaults import REGISTRY_DB_NAME
from workspace.base import Workspace, output_uri

STATE_FILE = "state.json"


class LocalWorkspace(Workspace):
    """Executions are `python -m pipelines run-local` runs under `<home>/runs`."""

    backend: LocalBackend

    def __init__(self, cfg: Config, home: Path) -> None:
        super().__init__(cfg, LocalBackend.open(home / REGISTRY_DB_NAME))
        self.home = home

    def _run_dir(self, execution: str) -> Path:
        return self.home / "runs" / execution

    def _state(self, execution: str) -> RunState:
        return RunState.load(self._run_dir(execution) / STATE_FILE)

    def start_execution(self, parameters: Mapping[str, str] | None = None) -> str:
        """Run the whole DAG in a subprocess (`python -m pipelines run-local`); returns when it ends."""
        params = {k: str(v) for k, v in (parameters or {}).items()}
        command = [
            sys.executable,
            "-m",
            "pipelines",
            "run-local",
            "--env",
            self.cfg.env,
            "--home",
            str(self.home),
        ]
        command += [arg for name, value in params.items() for arg in ("--param", f"{name}={value}")]
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        print(completed.stdout[-4000:])  # noqa: T201 (the run's progress, shown in the notebook)
        if completed.returncode not in (0, 1):  # 1: the run itself failed, its steps say why
            raise RuntimeError(f"run-local failed to start: {completed.stderr[-2000:]}")
        return self.latest_execution()

    def latest_execution(self) -> str:
        try:
            return latest_run(self.home).name
        except FileNotFoundError:
            raise FileNotFoundError(
                f"no local runs under {self.home / 'runs'}: run `make run-local` first"
            ) from None

    def execution_status(self, execution: str) -> str:
        return self._state(execution).status

    def execution_steps(self, execution: str) -> list[dict[str, Any]]:
        return [
            {"name": name, "status": s.status, "cache": s.cache, "message": s.message}
            for name, s in self._state(execution).steps.items()
        ]

    def read_output(self, execution: str, step: str, output: str, filename: str) -> bytes:
        """The file in the run folder that stands for the output's S3 object."""
        steps = self._state(execution).steps
        if step not in steps:
            raise KeyError(f"no step {step!r} in run {execution}")
        uri = output_uri(steps[step].properties, output).rstrip("/") + "/" + filename
        return RunStorage(self._run_dir(execution), REPO_ROOT).local_path(uri).read_bytes()

    def invoke(self, model: str, payload: dict[str, Any]) -> Any:
        """Load the endpoint's model in this process (as serve-local does) and invoke it."""
        pool = EndpointPool(self.backend.registry)
        body = json.dumps(payload).encode("utf-8")
        answer, _ = pool.get(self.endpoint_name(model)).invoke(body, "application/json", "application/json")
        return json.loads(answer)
