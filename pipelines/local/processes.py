"""Run a job plan as a local subprocess: lay out its folders, run it, collect what it wrote.

A `JobPlan` is everything one container job needs: the command, its environment, the inputs to
download into its `/opt/ml` folders and what to upload afterwards. `container` builds plans the way
SageMaker sets up a container; this module only runs them: `prepare` lays out the folders, `run_plan`
runs the command with its output in the step's log, `save_checkpoints` and `deliver` copy the results
into the run's S3 folder.

`JobControl` starts the jobs of one run, each in a session (process group) of its own, and stops them
together. Why a group of its own: a terminal's Ctrl-C goes to its foreground process group, and a
`kill` of the runner reaches the runner only; with the jobs outside that group the runner alone
decides how they end (SIGTERM to each job's whole group, SIGKILL after a grace period or a second
signal), records them as Stopped, and nothing a job started (data loader workers, a shell's children)
is left behind: when a job ends, for any reason, whatever remains of its group is killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from containers.common.tarball import pack_folder
from pipelines.local.sources import Source
from pipelines.local.storage import OPT_ML, RunStorage, copy_into, fresh_dir

CHILD_ENVIRONMENT = {
    # One BLAS thread per job: two jobs share two cores, and oversubscription slows tiny models 10x.
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
STOP_GRACE_S = 10.0  # how long a stopped job may take to exit on SIGTERM before it gets SIGKILL
METRIC_LINE = re.compile(r"^.*?METRIC ([A-Za-z0-9_.:/-]+)=([-+0-9.eE]+|nan|inf)(?:\s+step=(\d+))?")


class JobError(RuntimeError):
    """A job could not be set up or did not succeed; the message says which and why."""


@dataclass
class JobPlan:
    """One container job: what to download, what to run, what to upload."""

    step: str
    command: list[str]
    environment: dict[str, str]
    cwd: Path
    inputs: list[tuple[Source, Path]]
    outputs: list[tuple[Path, str]]  # (local folder, destination URI): uploaded after success
    timeout_s: float | None = None
    metric_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict)
    files: dict[Path, str] = field(default_factory=dict)  # config files written into the container
    archives: list[tuple[Path, str]] = field(default_factory=list)  # (folder, tarball URI) after success
    # (local folder, destination URI): restored before the job, kept after it even when it fails.
    checkpoints: list[tuple[Path, str]] = field(default_factory=list)
    failure_file: Path | None = None  # where the script may explain a failure (/opt/ml/output/failure)


@dataclass
class JobOutcome:
    returncode: int
    duration_s: float
    metrics: dict[str, float]
    message: str = ""
    stopped: bool = False  # the run was stopped (SIGINT/SIGTERM) before or while the job ran


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _signal_group(pgid: int, signum: int) -> None:
    """Send `signum` to a job's process group; a group that is already gone is fine."""
    # No process left in the group (PermissionError: what macOS answers for a group of zombies).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


class JobControl:
    """The jobs of one run, each in a process group of its own, and the run's stop switch.

    `keep_fds` are descriptors every job inherits (the run folder's lock, so that the folder stays
    locked while any job of the run is alive, even one whose runner was killed). `on_change` is told
    the live jobs ({step: process group id}) whenever one starts or ends (the lock file records them).
    """

    def __init__(
        self,
        keep_fds: tuple[int, ...] = (),
        on_change: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self._keep_fds = keep_fds
        self._on_change = on_change
        self._live: dict[int, str] = {}  # process group id -> step
        # Re-entrant: stop() runs in a signal handler, which may interrupt the main thread inside it.
        self._lock = threading.RLock()
        self.stop_signal: int | None = None
        self._stop_requested_at: float | None = None
        self._killed = False

    @property
    def stopping(self) -> bool:
        return self.stop_signal is not None

    def start(
        self, step: str, command: list[str], cwd: Path, env: dict[str, str], log: IO[str]
    ) -> subprocess.Popen[bytes] | None:
        """Start a job in a new session; None when the run is already stopping (nothing starts)."""
        with self._lock:
            if self.stopping:
                return None
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own session and process group: pgid == pid
                pass_fds=self._keep_fds,
            )
            self._live[process.pid] = step
            self._changed()
            return process

    def finished(self, process: subprocess.Popen[bytes]) -> None:
        """The job's leader has exited: kill what is left of its group and forget it."""
        with self._lock:
            # Until the group is empty its id cannot be reused, and a new process group needs a new
            # session leader with exactly this pid: killing the group right after the leader's exit is
            # safe in practice (pids are handed out in sequence up to pid_max before wrapping).
            _signal_group(process.pid, signal.SIGKILL)
            self._live.pop(process.pid, None)
            self._changed()

    def stop(self, signum: int) -> None:
        """Stop the run: no job starts any more; running jobs get SIGTERM, SIGKILL on a second call."""
        with self._lock:
            if self.stop_signal is None:
                self.stop_signal = signum
                self._stop_requested_at = time.monotonic()
                for pgid in list(self._live):
                    _signal_group(pgid, signal.SIGTERM)
            else:
                self.kill()

    def kill(self) -> None:
        """SIGKILL every running job's group (an error in the scheduler, or a job ignoring SIGTERM)."""
        with self._lock:
            self._killed = True
            for pgid in list(self._live):
                _signal_group(pgid, signal.SIGKILL)

    def kill_if_overdue(self, grace_s: float = STOP_GRACE_S) -> None:
        """After a stop, SIGKILL the jobs still running `grace_s` seconds later."""
        started = self._stop_requested_at
        if started is not None and not self._killed and time.monotonic() - started > grace_s:
            self.kill()

    def live(self) -> dict[str, int]:
        with self._lock:
            return {step: pgid for pgid, step in self._live.items()}

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.live())


def python_command(entrypoint: list[str]) -> list[str]:
    """Run `python3 x.py` with the interpreter running this runner (the project's environment)."""
    head = Path(entrypoint[0]).name if entrypoint else ""
    if head in ("python", "python3") or head.startswith("python3."):
        return [sys.executable, *entrypoint[1:]]
    return list(entrypoint)


def child_environment(extra: dict[str, Any]) -> dict[str, str]:
    """This process's environment, one BLAS thread per job, and the job's own variables on top."""
    environment = dict(os.environ)
    environment.update(CHILD_ENVIRONMENT)
    environment.update({key: str(value) for key, value in extra.items()})
    return environment


def prepare(plan: JobPlan, step_dir: Path, storage: RunStorage) -> None:
    """Lay out the container folders: fresh /opt/ml, inputs downloaded, config files, checkpoints."""
    fresh_dir(step_dir / "opt_ml")
    for source, target in plan.inputs:
        target.mkdir(parents=True, exist_ok=True)
        source.materialize(target)
    for local, uri in plan.checkpoints:
        local.mkdir(parents=True, exist_ok=True)
        stored = storage.local_path(uri)
        if stored.is_dir():
            copy_into(stored, local)
    for local, _uri in plan.outputs:
        local.mkdir(parents=True, exist_ok=True)
    for path, text in plan.files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    plan.cwd.mkdir(parents=True, exist_ok=True)


def run_plan(plan: JobPlan, log_path: Path, jobs: JobControl | None = None) -> JobOutcome:
    """Run the job's command, its output appended to `log_path`; returns its exit code and metrics.

    `jobs` is the run's JobControl (a private one when left out): it starts the job in its own process
    group and may stop it; a stopped job's outcome says so (`stopped`), whatever its exit code.
    """
    jobs = jobs or JobControl()
    started = time.monotonic()
    real_opt_ml = Path(OPT_ML).exists()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write("$ " + " ".join(plan.command) + "\n")
        log.flush()
        process = jobs.start(plan.step, plan.command, plan.cwd, plan.environment, log)
        if process is None:
            return JobOutcome(-1, 0.0, {}, "not started: the run is stopping", stopped=True)
        try:
            returncode = process.wait(timeout=plan.timeout_s)
            message = "" if returncode == 0 else f"exited with status {returncode}"
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            returncode = -9
            message = f"stopped after MaxRuntimeInSeconds={plan.timeout_s}"
        except BaseException:
            _signal_group(process.pid, signal.SIGKILL)  # an error in the runner: never leave the job
            process.wait()
            raise
        finally:
            jobs.finished(process)
    if jobs.stop_signal is not None and returncode != 0:
        message = f"stopped by {signal_name(jobs.stop_signal)} (exit status {returncode})"
        duration = time.monotonic() - started
        return JobOutcome(returncode, duration, parse_metrics(log_path, plan.metric_patterns), message, True)
    failure = plan.failure_file
    if returncode != 0 and failure is not None and failure.is_file():
        message += ": " + failure.read_text(encoding="utf-8").strip()[:500]
    if not real_opt_ml and Path(OPT_ML).exists():
        # A script used a container default path the definition does not pass: locally that lands in
        # this machine's /opt/ml, shared by every job. Say so loudly; SageMaker would hide the bug.
        message = (message + "; " if message else "") + (
            f"warning: {OPT_ML} appeared on this machine while the job ran: a script wrote to a container "
            "default path that its arguments or SM_* variables do not set"
        )
    return JobOutcome(
        returncode, time.monotonic() - started, parse_metrics(log_path, plan.metric_patterns), message
    )


def save_checkpoints(plan: JobPlan, storage: RunStorage) -> None:
    """Upload the checkpoint folders that hold anything, even after a failure (a retry resumes)."""
    for local, uri in plan.checkpoints:
        if local.is_dir() and any(local.iterdir()):
            copy_into(local, fresh_dir(storage.local_path(uri)))


def deliver(plan: JobPlan, storage: RunStorage) -> None:
    """After a successful job: its output folders uploaded, its archives packed, each replacing the last."""
    for local, uri in plan.outputs:
        copy_into(local, fresh_dir(storage.local_path(uri)))
    for folder in dict.fromkeys(storage.local_path(uri).parent for _, uri in plan.archives):
        fresh_dir(folder)
    for folder, uri in plan.archives:
        pack_folder(folder, storage.local_path(uri))


def parse_metrics(log_path: Path, patterns: dict[str, re.Pattern[str]]) -> dict[str, float]:
    """Last value of each metric in the log: the definitions' regexes, else `METRIC name=value` lines."""
    found: dict[str, float] = {}
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if patterns:
            for name, pattern in patterns.items():
                match = pattern.search(line)
                if match:
                    found[name] = float(match.group(1))
        else:
            match = METRIC_LINE.match(line)
            if match:
                found[match.group(1)] = float(match.group(2))
    return found
