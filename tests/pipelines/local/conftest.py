"""Fixtures of the local runner's tests: the demo project (fast) and runs of it, and the suite's one
run of the whole local definition on (a copy of) data/sample, shared by the e2e modules."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.local.progress import Reporter
from pipelines.local.runner import RunOptions, run_definition
from pipelines.local.state import RunResult
from project.bundle import REPO_ROOT, bundle_files
from tests.pipelines.conftest import definition_text
from tests.pipelines.local import demo_project

SAMPLE = REPO_ROOT / "data" / "sample"


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


class FullRun:
    """The shared home folder, data and definition of the whole-DAG run, and a way to run them again."""

    def __init__(self, home: Path, code: Path, data: Path) -> None:
        self.home = home
        # The jobs run a snapshot of the code bundle, so edits to the tree during the session do not
        # invalidate the cache between these tests (identical content: the same cache keys as the tree).
        self.code = code
        for name in bundle_files(REPO_ROOT):
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, code / name)
        # A copy of data/sample: a test may change a file in it (and must put it back) to check which
        # steps rerun; the path stays the same, as an S3 prefix does when files under it change.
        self.data = data
        shutil.copytree(SAMPLE, data, dirs_exist_ok=True)
        self.definition: dict[str, Any] = json.loads(definition_text("local"))
        self.definition_file = home / "definition-local.json"
        home.mkdir(parents=True, exist_ok=True)
        self.definition_file.write_text(json.dumps(self.definition))

    def run(self, home: Path | None = None) -> tuple[RunResult, str]:
        """Run the definition on `self.data` with `home` (default the shared one: cache, registry)."""
        stream = io.StringIO()
        options = RunOptions(
            home=home or self.home, repo_root=self.code, pipeline_name="stranger-things-nlp-local"
        )
        result = run_definition(self.definition, options, Reporter(stream), {"InputDataUri": str(self.data)})
        return result, stream.getvalue()


# The session's whole-DAG run, `full_run`, is defined in tests/conftest.py: the e2e modules here and the
# app's tests (tests/app/) share that one run.
