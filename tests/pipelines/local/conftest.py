"""Fixtures of the local runner's tests: the demo project (fast) and runs of it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.local.progress import Reporter
from pipelines.local.runner import RunOptions, RunResult, run_definition
from tests.pipelines.local import demo_project


@dataclass
class DemoRunner:
    """Runs the demo definition against one home folder (cache, registry, runs)."""

    root: Path
    data: Path
    home: Path
    calls: Path

    def definition(self) -> dict[str, Any]:
        return demo_project.definition(self.data)

    def run(self, overrides: dict[str, str] | None = None, **options: Any) -> tuple[RunResult, str]:
        stream = io.StringIO()
        result = run_definition(
            options.pop("definition", None) or self.definition(),
            RunOptions(home=self.home, repo_root=self.root, pipeline_name="demo", workers=2, **options),
            Reporter(stream),
            overrides,
        )
        return result, stream.getvalue()

    def calls_made(self) -> list[str]:
        return self.calls.read_text().split() if self.calls.exists() else []


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoRunner:
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("DEMO_CALLS", str(calls))
    monkeypatch.delenv("DEMO_FAIL", raising=False)
    root = demo_project.write_project(tmp_path / "repo")
    data = demo_project.write_data(tmp_path / "data")
    return DemoRunner(root, data, tmp_path / "home", calls)


def statuses(result: RunResult) -> dict[str, tuple[str, str]]:
    """{step: (status, cache)} of a run."""
    return {name: (r.status, r.cache) for name, r in result.state.steps.items()}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
