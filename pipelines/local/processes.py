"""Run a job plan as a local subprocess: lay out its folders, run it, collect what it wrote.

A `JobPlan` is everything one container job needs: the command, its environment, the inputs to
download into its `/opt/ml` folders and what to upload afterwards. `container` builds plans the way
SageMaker sets up a container; this module only runs them: `prepare` lays out the folders, `run_plan`
runs the command with its output in the step's log, `save_checkpoints` and `deliver` copy the results
into the run's S3 folder. Every job started here can be stopped at once (`kill_running_jobs`), so that
Ctrl-C in the scheduler never leaves a job running.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
# Jobs running now, so that Ctrl-C (or any error in the scheduler) can stop them all.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
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


def run_plan(plan: JobPlan, log_path: Path) -> JobOutcome:
    """Run the job's command, its output appended to `log_path`; returns its exit code and metrics."""
    started = time.monotonic()
    real_opt_ml = Path(OPT_ML).exists()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write("$ " + " ".join(plan.command) + "\n")
        log.flush()
        process = subprocess.Popen(
            plan.command, cwd=plan.cwd, env=plan.environment, stdout=log, stderr=subprocess.STDOUT
        )
        with _LIVE_LOCK:
            _LIVE.add(process)
        try:
            returncode = process.wait(timeout=plan.timeout_s)
            message = "" if returncode == 0 else f"exited with status {returncode}"
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = -9
            message = f"stopped after MaxRuntimeInSeconds={plan.timeout_s}"
        except BaseException:
            process.kill()  # Ctrl-C or an error in the runner: never leave the job running
            process.wait()
            raise
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process)
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


def kill_running_jobs() -> None:
    """Stop every job this process started that is still running."""
    with _LIVE_LOCK:
        for process in list(_LIVE):
            process.kill()


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
