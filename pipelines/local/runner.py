"""Run a pipeline definition on this machine: the scheduler of the local runner.

    result = run_definition(definition, RunOptions(home=Path(".local")), overrides={"ChatbotEpochs": "1"})

Steps start in topological order as soon as everything upstream has finished. Each step's row in
`step_types.STEP_KINDS` gives its handler: jobs (Processing, Training) run in a pool bounded by the CPU
count, the quick steps (conditions, registry, endpoints) on the scheduler's thread. A Condition step's
untaken branch, and anything downstream of a skipped step, is skipped. A failed step or a Fail step
stops new steps from starting; running ones finish; the rest are NotStarted. The state is saved after
every change so `resume=True` continues a failed or stopped run: steps that succeeded keep their
results, the others run again. A resumed run keeps the first run's cache setting (--no-cache stays off),
and a step that succeeded on data that has changed since runs again, with everything downstream of it
(cached steps whose inputs match are reused), so the run's record of its inputs stays true.

Interrupts: SIGINT (Ctrl-C) and SIGTERM stop the run (`processes.JobControl`): no new step starts,
every running job's process group gets SIGTERM (SIGKILL after a grace period or a second signal), the
stopped steps and the run are recorded as Stopped, and the summary says how to resume. The run folder
is locked (`run_lock`) for as long as the runner or any of its jobs lives.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model_registry.local import LocalRegistry
from pipelines.local.cache import StepCache, input_uris
from pipelines.local.dag import StepNode, build_dag, resolve_parameters
from pipelines.local.expressions import Scope, resolve
from pipelines.local.handlers import LOCAL_ACCOUNT, Outcome, Services, StepCall
from pipelines.local.outputs import point_latest
from pipelines.local.processes import JobControl, signal_name
from pipelines.local.progress import Reporter
from pipelines.local.run_lock import RunLock
from pipelines.local.sources import stale_bundle_note
from pipelines.local.state import (
    CACHED,
    DONE_OK,
    FAILED,
    NOT_STARTED,
    PENDING,
    RUNNING,
    SKIPPED,
    STOPPED,
    SUCCEEDED,
    TERMINAL,
    RunResult,
    RunState,
    StepRecord,
)
from pipelines.local.step_types import STEP_KINDS, check_supported
from pipelines.local.storage import RunStorage
from project.bundle import REPO_ROOT

POLL_S = 0.5  # how often the scheduler looks for a stop request while jobs run


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
        self.notes: list[str] = []
        if options.resume:
            if options.run_dir is None:
                raise ValueError("--resume needs the run folder (--run-dir), or use the latest run")
            if overrides:
                raise ValueError(
                    "--resume reuses the failed run's parameters; start a new run to change them"
                )
            self.run_dir = options.run_dir
        else:
            self.execution = new_execution(options.pipeline_name)
            self.run_dir = options.run_dir or options.home / "runs" / self.execution["PipelineExecutionId"]
        # Locked before the state is read or written: a live runner of this folder is refused here.
        self.lock = RunLock.acquire(self.run_dir)
        try:
            self._open(definition, options, overrides)
        except BaseException:
            self.lock.release()
            raise

    def _open(
        self, definition: dict[str, Any], options: RunOptions, overrides: dict[str, str] | None
    ) -> None:
        if self.lock.took_over_from is not None:
            self.notes.append(
                f"took over the lock of runner pid {self.lock.took_over_from}, which exited without "
                "releasing it"
            )
        if options.resume:
            self.state = RunState.load(self.run_dir / "state.json")
            self._reset_unfinished()
        else:
            if (self.run_dir / "state.json").exists():
                raise ValueError(f"{self.run_dir} already holds a run; pass --resume to continue it")
            parameters = resolve_parameters(definition, overrides or {})
            steps = {name: StepRecord(name, self.dag.steps[name].type) for name in self.dag.order}
            self.state = RunState(self.execution, parameters, steps, use_cache=options.use_cache)
            (self.run_dir / "definition.json").write_text(json.dumps(definition, indent=2) + "\n")
        # A resumed run keeps the first run's --no-cache: its reused steps were made without the cache.
        self.use_cache = options.use_cache and self.state.use_cache
        if options.resume and options.use_cache and not self.state.use_cache:
            self.notes.append(
                "this run was started with --no-cache: the resumed steps do not use the cache either"
            )
        self.scope = Scope(
            parameters=self.state.parameters,
            execution=self.state.execution,
            read_uri=lambda uri: self.services.storage.local_path(uri),
        )
        self.jobs = JobControl(keep_fds=(self.lock.fd,), on_change=self.lock.record_jobs)
        self.services = Services(
            storage=RunStorage(self.run_dir, options.repo_root),
            repo_root=options.repo_root,
            cache=StepCache(options.home / "cache"),
            registry=LocalRegistry(options.registry_path),
            models_dir=options.registry_path.parent / "deployed",
            execution=self.state.execution,
            jobs=self.jobs,
            workers=max(1, options.workers),
            tuning_dir=options.home / "tuning",
        )
        if options.resume:
            self._rerun_on_changed_data()
        for record in self.state.steps.values():
            if record.status in DONE_OK:
                self._publish(record)
        self._save()

    # -- state --------------------------------------------------------------------------------------

    def _reset_unfinished(self) -> None:
        for record in self.state.steps.values():
            if record.status not in DONE_OK and record.status != SKIPPED:
                record.status, record.message, record.duration_s = PENDING, "", None
        self.state.status, self.state.message = RUNNING, ""

    def _rerun_on_changed_data(self) -> None:
        """Steps that succeeded on data that has changed since run again, and everything downstream."""
        changed = [
            record.name
            for record in self.state.steps.values()
            if record.status in DONE_OK
            and record.data_inputs
            and self.services.data_digests(list(record.data_inputs)) != record.data_inputs
        ]
        if not changed:
            return
        again = set(changed).union(*(self.dag.downstream(name) for name in changed))
        for name in sorted(again):
            record = self.state.steps[name]
            record.status, record.message, record.duration_s, record.cache = PENDING, "", None, "-"
        self.notes.append(
            f"the data read by {', '.join(changed)} changed since the run stopped: "
            f"{len(again)} step(s) run again (cached ones whose inputs match are reused)"
        )

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
        record.data_inputs = outcome.data_inputs
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
        """Run the steps to the end (or until SIGINT/SIGTERM stops the run); release the folder's lock."""
        try:
            with self._signals_stop_the_run():
                return self._execute()
        finally:
            self.lock.release()

    @contextmanager
    def _signals_stop_the_run(self) -> Iterator[None]:
        """While the run executes, SIGINT and SIGTERM stop it (`JobControl.stop`) instead of killing
        the runner mid-write. Signal handlers can only be set from the main thread; elsewhere (a run
        started by a server thread) the process's own handling stays."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, lambda signum, _frame: self.jobs.stop(signum))
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _execute(self) -> RunResult:
        started = time.monotonic()
        notes = [*self.notes, stale_bundle_note(self._code_uris(), self.options.repo_root)]
        self.options.home.mkdir(parents=True, exist_ok=True)
        point_latest(self.options.home, self.run_dir)  # <home>/latest: the run in progress or last ended
        self.reporter.begin(self.run_dir, self.state, self.dag, "; ".join(n for n in notes if n) or None)
        stopping = False
        running: dict[Future[Outcome], tuple[StepRecord, float]] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            try:
                while True:
                    stopping |= self.jobs.stopping
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
                        # A timeout, so that a stop is seen (and overdue jobs killed) while jobs run.
                        done, _ = wait(list(running), timeout=POLL_S, return_when=FIRST_COMPLETED)
                        self.jobs.kill_if_overdue()
                        for future in done:
                            record, step_started = running.pop(future)
                            outcome = future.result()  # _call turns a handler's error into a failure
                            self._finish(record, outcome, step_started)
                            stopping |= outcome.status == FAILED
            except (
                BaseException
            ) as exc:  # a bug in the runner: no job may outlive it, no step stays Executing
                self.jobs.kill()
                for record in self.state.steps.values():
                    if record.status == RUNNING:
                        record.status, record.message = FAILED, f"the runner failed: {exc!r}"
                self.state.status, self.state.message = FAILED, f"the runner failed: {exc!r}"
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
            use_cache=self.use_cache and (node.cache_enabled or not kind.follows_cache_config),
        )
        if kind.is_job:
            running[pool.submit(self._call, call)] = (record, step_started)
            return False
        outcome = self._call(call)
        self._finish(record, outcome, step_started)
        return outcome.status == FAILED

    def _call(self, call: StepCall) -> Outcome:
        """Run the step's handler; an error it raises is the step's failure (on a worker thread for jobs)."""
        if call.kind.is_job and self.jobs.stopping:
            return Outcome(STOPPED, message=f"not started: the run was stopped by {self._stop_name()}")
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

    def _stop_name(self) -> str:
        return signal_name(self.jobs.stop_signal) if self.jobs.stop_signal is not None else "request"

    def _conclude(self, started: float) -> RunResult:
        for record in self.state.steps.values():
            if record.status == PENDING:
                record.status = NOT_STARTED
        failed = [r for r in self.state.steps.values() if r.status == FAILED]
        if self.jobs.stopping:
            self.state.status = STOPPED
            self.state.message = (
                f"stopped by {self._stop_name()}; continue it with "
                f"`python -m pipelines run-local --resume --run-dir {self.run_dir}`"
            )
        else:
            self.state.status = FAILED if failed else SUCCEEDED
            self.state.message = f"{failed[0].name}: {failed[0].message}" if failed else ""
        self._save()
        result = RunResult(
            self.state.status,
            self.run_dir,
            self.state,
            self.dag,
            time.monotonic() - started,
            stop_signal=self.jobs.stop_signal,
        )
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
