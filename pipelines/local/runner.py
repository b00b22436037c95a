"""Run a pipeline definition on this machine: the scheduler of the local runner.

    result = run_definition(definition, RunOptions(home=Path(".local")), overrides={"ChatbotEpochs": "1"})

Steps start in topological order as soon as everything upstream has finished. Each step's row in
`step_types.STEP_KINDS` gives its handler: jobs (Processing, Training) run in a pool bounded by the CPU
count, the quick steps (conditions, registry, endpoints) on the scheduler's thread. A Condition step's
untaken branch, and anything downstream of a skipped step, is skipped. A failed step or a Fail step
stops new steps from starting; running ones finish; the rest are NotStarted. The state is saved after
every change so `resume=True` continues a failed run: steps that succeeded keep their results, the
others run again.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_registry.local import LocalRegistry
from pipelines.local.cache import StepCache, input_uris
from pipelines.local.dag import StepNode, build_dag, resolve_parameters
from pipelines.local.expressions import Scope, resolve
from pipelines.local.handlers import LOCAL_ACCOUNT, Outcome, Services, StepCall
from pipelines.local.processes import kill_running_jobs
from pipelines.local.progress import Reporter
from pipelines.local.sources import stale_bundle_note
from pipelines.local.state import (
    CACHED,
    DONE_OK,
    FAILED,
    NOT_STARTED,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    TERMINAL,
    RunResult,
    RunState,
    StepRecord,
)
from pipelines.local.step_types import STEP_KINDS, check_supported
from pipelines.local.storage import RunStorage
from project.bundle import REPO_ROOT


def available_cores() -> int:
    """CPU cores this process may use (the affinity mask on Linux, the CPU count elsewhere)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


@dataclass
class RunOptions:
    """Where the run keeps things and how it behaves."""

    home: Path = Path(".local")  # cache, runs, registry.db, deployed/ (unpacked endpoint models)
    run_dir: Path | None = None  # default: <home>/runs/<execution id>
    use_cache: bool = True
    resume: bool = False
    workers: int = field(default_factory=lambda: available_cores())
    repo_root: Path = REPO_ROOT
    pipeline_name: str = "local-pipeline"
    registry_db: Path | None = None  # default: <home>/registry.db

    def __post_init__(self) -> None:
        # Jobs run with their own working folder: every path handed to them must be absolute.
        self.home = self.home.resolve()
        self.repo_root = self.repo_root.resolve()
        self.run_dir = self.run_dir.resolve() if self.run_dir is not None else None
        self.registry_db = self.registry_db.resolve() if self.registry_db is not None else None

    @property
    def registry_path(self) -> Path:
        return self.registry_db or self.home / "registry.db"


def new_execution(pipeline_name: str) -> dict[str, str]:
    """Execution variables of a fresh run; the id is sortable by start time."""
    now = datetime.now(UTC)
    execution_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    pipeline_arn = f"{LOCAL_ACCOUNT}:pipeline/{pipeline_name}"
    return {
        "PipelineExecutionId": execution_id,
        "PipelineExecutionArn": f"{pipeline_arn}/execution/{execution_id}",
        "PipelineName": pipeline_name,
        "PipelineArn": pipeline_arn,
        "StartDateTime": now.isoformat(timespec="seconds"),
        "CurrentDateTime": now.isoformat(timespec="seconds"),
    }


class LocalRun:
    """One execution of a definition; `execute()` runs it to the end."""

    def __init__(
        self,
        definition: dict[str, Any],
        options: RunOptions,
        reporter: Reporter,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.definition = definition
        self.options = options
        self.reporter = reporter
        self.dag = build_dag(definition)
        check_supported(self.dag)
        if options.resume:
            if options.run_dir is None:
                raise ValueError("--resume needs the run folder (--run-dir), or use the latest run")
            if overrides:
                raise ValueError(
                    "--resume reuses the failed run's parameters; start a new run to change them"
                )
            self.run_dir = options.run_dir
            self.state = RunState.load(self.run_dir / "state.json")
            self._reset_unfinished()
        else:
            execution = new_execution(options.pipeline_name)
            self.run_dir = options.run_dir or options.home / "runs" / execution["PipelineExecutionId"]
            if (self.run_dir / "state.json").exists():
                raise ValueError(f"{self.run_dir} already holds a run; pass --resume to continue it")
            self.run_dir.mkdir(parents=True, exist_ok=True)
            parameters = resolve_parameters(definition, overrides or {})
            steps = {name: StepRecord(name, self.dag.steps[name].type) for name in self.dag.order}
            self.state = RunState(execution, parameters, steps)
            (self.run_dir / "definition.json").write_text(json.dumps(definition, indent=2) + "\n")
        self.scope = Scope(
            parameters=self.state.parameters,
            execution=self.state.execution,
            read_uri=lambda uri: self.services.storage.local_path(uri),
        )
        self.services = Services(
            storage=RunStorage(self.run_dir, options.repo_root),
            repo_root=options.repo_root,
            cache=StepCache(options.home / "cache"),
            registry=LocalRegistry(options.registry_path),
            models_dir=options.registry_path.parent / "deployed",
            execution=self.state.execution,
        )
        for record in self.state.steps.values():
            if record.status in DONE_OK:
                self._publish(record)

    # -- state --------------------------------------------------------------------------------------

    def _reset_unfinished(self) -> None:
        for record in self.state.steps.values():
            if record.status not in DONE_OK and record.status != SKIPPED:
                record.status, record.message, record.duration_s = PENDING, "", None
        self.state.status, self.state.message = RUNNING, ""

    def _publish(self, record: StepRecord) -> None:
        """Make a finished step's properties and property files visible to the steps downstream."""
        self.scope.steps[record.name] = record.properties
        self.scope.property_files[record.name] = {k: Path(v) for k, v in record.property_files.items()}

    def _save(self) -> None:
        self.state.save(self.run_dir / "state.json")

    def _log_path(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def _finish(self, record: StepRecord, outcome: Outcome, started: float) -> None:
        record.status, record.cache, record.message = outcome.status, outcome.cache, outcome.message
        record.properties, record.property_files = outcome.properties, outcome.property_files
        record.metrics, record.decision, record.key = outcome.metrics, outcome.decision, outcome.key
        record.duration_s = time.monotonic() - started
        if record.status in DONE_OK:
            self._publish(record)
        self._save()
        self.reporter.finished(record)

    # -- scheduling ---------------------------------------------------------------------------------

    def _skip_reason(self, node: StepNode) -> str | None:
        if node.branch is not None:
            condition, side = node.branch
            if self.state.steps[condition].status == SKIPPED:
                return f"{condition} was skipped"
            decision = self.state.steps[condition].decision or {}
            if decision.get("branch") != side:
                return f"{condition} took the {decision.get('branch', '?')} branch"
        for upstream in sorted(node.upstream):
            if self.state.steps[upstream].status == SKIPPED:
                return f"{upstream} was skipped"
        return None

    def _ready(self) -> list[StepNode]:
        ready = []
        for name in self.dag.order:
            record = self.state.steps[name]
            node = self.dag.steps[name]
            if record.status == PENDING and all(
                self.state.steps[u].status in TERMINAL for u in node.upstream
            ):
                ready.append(node)
        return ready

    def execute(self) -> RunResult:
        started = time.monotonic()
        note = stale_bundle_note(self._code_uris(), self.options.repo_root)
        self.reporter.begin(self.run_dir, self.state, self.dag, note)
        stopping = False
        running: dict[Future[Outcome], tuple[StepRecord, float]] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            try:
                while True:
                    progressed = False
                    for node in self._ready():
                        if self._skip(node):  # skips still settle after a failure: they start nothing
                            progressed = True
                            continue
                        if stopping or (
                            len(running) >= self.options.workers and STEP_KINDS[node.type].is_job
                        ):
                            continue
                        progressed = True
                        stopping |= self._start(node, pool, running)
                    if not running and not progressed:
                        break
                    if running and not progressed:
                        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                        for future in done:
                            record, step_started = running.pop(future)
                            outcome = future.result()  # _call turns a handler's error into a failure
                            self._finish(record, outcome, step_started)
                            stopping |= outcome.status == FAILED
            except BaseException:
                kill_running_jobs()
                self.state.status, self.state.message = FAILED, "interrupted"
                self._save()
                raise
        return self._conclude(started)

    def _code_uris(self) -> set[str]:
        return {u for u in input_uris(self.definition) if "/code/" in u}

    def _skip(self, node: StepNode) -> bool:
        """Mark a ready step Skipped when its branch was not taken or an upstream step was skipped."""
        reason = self._skip_reason(node)
        if reason is None:
            return False
        record = self.state.steps[node.name]
        record.status, record.message = SKIPPED, reason
        self._save()
        self.reporter.finished(record)
        return True

    def _start(
        self,
        node: StepNode,
        pool: ThreadPoolExecutor,
        running: dict[Future[Outcome], tuple[StepRecord, float]],
    ) -> bool:
        """Start one ready step; True when the run must stop starting new steps."""
        record = self.state.steps[node.name]
        record.status, record.log = RUNNING, str(self._log_path(node.name))
        self._log_path(node.name).unlink(missing_ok=True)
        self.reporter.started(record)
        step_started = time.monotonic()
        kind = STEP_KINDS[node.type]
        try:
            args = resolve(node.arguments, self.scope) if kind.resolve_arguments else node.arguments
        except ValueError as exc:
            self._finish(
                record, Outcome(FAILED, message=f"cannot resolve its arguments: {exc}"), step_started
            )
            return True
        call = StepCall(
            name=node.name,
            kind=kind,
            definition=node.definition,
            args=args,
            services=self.services,
            scope=self.scope,
            log_path=self._log_path(node.name),
            use_cache=self.options.use_cache and (node.cache_enabled or not kind.follows_cache_config),
        )
        if kind.is_job:
            running[pool.submit(self._call, call)] = (record, step_started)
            return False
        outcome = self._call(call)
        self._finish(record, outcome, step_started)
        return outcome.status == FAILED

    def _call(self, call: StepCall) -> Outcome:
        """Run the step's handler; an error it raises is the step's failure (on a worker thread for jobs)."""
        try:
            return call.kind.handler(call)
        except Exception as exc:  # reported as the step's failure, with the traceback in its log
            return self._failure(call.name, exc)

    def _failure(self, name: str, exc: Exception) -> Outcome:
        """A step that raised: its message names the error; the traceback goes to the step's log."""
        log = self._log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as handle:
            handle.write("[local runner] the step could not run:\n")
            handle.write("".join(traceback.format_exception(exc)))
        return Outcome(FAILED, message=f"{type(exc).__name__}: {exc}")

    def _conclude(self, started: float) -> RunResult:
        for record in self.state.steps.values():
            if record.status == PENDING:
                record.status = NOT_STARTED
        failed = [r for r in self.state.steps.values() if r.status == FAILED]
        self.state.status = FAILED if failed else SUCCEEDED
        self.state.message = f"{failed[0].name}: {failed[0].message}" if failed else ""
        self._save()
        result = RunResult(self.state.status, self.run_dir, self.state, self.dag, time.monotonic() - started)
        self.reporter.summary(result)
        return result


def latest_run(home: Path) -> Path:
    """The most recent run folder under <home>/runs (ids sort by start time)."""
    runs = sorted(p for p in (home / "runs").glob("*") if (p / "state.json").is_file())
    if not runs:
        raise FileNotFoundError(f"no runs under {home / 'runs'} to resume")
    return runs[-1]


def run_definition(
    definition: dict[str, Any],
    options: RunOptions,
    reporter: Reporter | None = None,
    overrides: dict[str, str] | None = None,
) -> RunResult:
    """Run `definition` to the end and return its result (the reporter prints progress and summary)."""
    return LocalRun(definition, options, reporter or Reporter(), overrides).execute()


__all__ = ["CACHED", "LocalRun", "RunOptions", "RunResult", "latest_run", "run_definition"]
