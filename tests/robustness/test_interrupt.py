"""Interrupting `run-local` mid-step: SIGTERM (what `make` forwards, or `kill`) and SIGINT (a terminal's
Ctrl-C, sent to the runner's whole foreground process group) stop the run, kill the job and whatever the
job started, record the run and the step as Stopped, print no traceback, release the run folder, and
`--resume` finishes the run. While the run is live, a second runner cannot enter its folder.

The runner is the real CLI in a subprocess, on the demo project (tests/pipelines/local/demo_project.py),
whose Train job is told to start a child and sleep (DEMO_HANG).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipelines.local import demo_project

# The CLI, with the repository root pointed at the demo project (its code bundle is what the jobs run).
DRIVER = (
    "import sys; from pathlib import Path; import pipelines.local.cli as cli; "
    "cli.REPO_ROOT = Path(sys.argv[1]); from pipelines.__main__ import main; sys.exit(main(sys.argv[2:]))"
)
WAIT_S = 120.0  # an upper bound so a broken runner fails the test instead of hanging the suite


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its parent to reap it counts as gone)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Project:
    def __init__(self, tmp_path: Path) -> None:
        self.root = demo_project.write_project(tmp_path / "repo")
        self.data = demo_project.write_data(tmp_path / "data")
        self.home = tmp_path / "home"
        self.run_dir = self.home / "runs" / "interrupted"
        self.definition = tmp_path / "definition.json"
        self.definition.write_text(json.dumps(demo_project.definition(self.data)))
        self.calls = tmp_path / "calls.txt"
        self.pids = tmp_path / "hang.pids"

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable,
            "-c",
            DRIVER,
            str(self.root),
            "run-local",
            "--definition",
            str(self.definition),
            "--home",
            str(self.home),
            "--run-dir",
            str(self.run_dir),
            "--workers",
            "2",
            *extra,
        ]

    def environment(self, hang: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
        env.update(DEMO_CALLS=str(self.calls), DEMO_HANG_PIDS=str(self.pids), PYTHONPATH=str(Path.cwd()))
        if hang:
            env["DEMO_HANG"] = hang
        return env

    def start_hanging(self, step: str) -> tuple[subprocess.Popen[str], int, int]:
        """The runner, started in a session of its own (as a shell starts a foreground job), once the
        job `step` is running; with the pids of the job and of the child the job started."""
        runner = subprocess.Popen(
            self.command(),
            env=self.environment(hang=step),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + WAIT_S
        while not self.pids.exists():
            if runner.poll() is not None or time.monotonic() > deadline:
                runner.kill()
                out, err = runner.communicate()
                pytest.fail(f"the job never started hanging:\n{out}\n{err}")
            time.sleep(0.05)
        job, child = (int(p) for p in self.pids.read_text().split())
        return runner, job, child

    def state(self) -> dict[str, object]:
        return json.loads((self.run_dir / "state.json").read_text())

    def leave_nothing(self) -> None:
        """After a failed test: kill what the run may have left (the runner named in the lock, the job's
        group), so a broken runner does not leak processes into the machine."""
        with contextlib.suppress(OSError, ValueError):
            runner = json.loads((self.run_dir / "run.lock").read_text() or "{}").get("pid")
            if runner and self._ours(int(runner)):
                os.kill(int(runner), signal.SIGKILL)
        with contextlib.suppress(OSError, ValueError):
            job, _child = (int(p) for p in self.pids.read_text().split())
            if self._ours(job):
                os.killpg(job, signal.SIGKILL)

    def _ours(self, pid: int) -> bool:
        """Whether `pid` is still a process of this test (its command line names the test's folders)."""
        try:
            return str(self.root.parent) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    project = Project(tmp_path)
    yield project
    project.leave_nothing()


@pytest.mark.parametrize(
    ("sig", "to_group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGTERM-to-the-runner", "SIGINT-to-its-terminal-group"],
)
def test_a_signal_mid_step_stops_the_run_leaves_no_process_and_resume_finishes_it(
    project: Project, sig: signal.Signals, to_group: bool
) -> None:
    runner, job, child = project.start_hanging("Train")
    assert running(job) and running(child)

    # While the run is live, neither a second runner nor a resume may enter its folder.
    second = subprocess.run(
        project.command("--resume"), env=project.environment(), capture_output=True, text=True, check=False
    )
    assert second.returncode == 2
    assert f"is in use by run-local (pid {runner.pid}" in second.stderr
    assert "running: Train (process group" in second.stderr

    if to_group:
        os.killpg(runner.pid, sig)  # a terminal's Ctrl-C: the runner's group, not the job's own
    else:
        os.kill(runner.pid, sig)
    out, err = runner.communicate(timeout=WAIT_S)

    assert runner.returncode == 128 + sig, err
    assert "Traceback" not in out + err
    assert not running(job) and not running(child)  # the job and the job's own child are gone
    state = project.state()
    steps = {name: record["status"] for name, record in state["steps"].items()}  # type: ignore[union-attr]
    assert state["status"] == "Stopped"
    assert steps["Train"] == "Stopped"
    assert (steps["CountA"], steps["CountB"]) == ("Succeeded", "Succeeded")
    assert steps["Evaluate"] == "NotStarted" and steps["Deploy"] == "NotStarted"
    assert f"STOPPED: stopped by {sig.name}; continue it with" in out
    assert (project.run_dir / "run.lock").read_text() == ""  # released

    resumed = subprocess.run(
        project.command("--resume"), env=project.environment(), capture_output=True, text=True, check=False
    )

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert project.state()["status"] == "Succeeded"
    # CountA and CountB ran once, before the stop; Train started twice (stopped, then resumed).
    calls = project.calls.read_text().split()
    assert sorted(calls[:2]) == ["CountA", "CountB"]
    assert calls[2:] == ["Train", "Train", "Evaluate"]


def test_a_job_that_ignores_sigterm_is_still_killed_and_leaves_nothing(project: Project) -> None:
    # The job ignores SIGTERM: a second signal (or the grace period) sends SIGKILL to its group.
    script = project.root / "containers" / "demo" / "train.py"
    script.write_text("import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + script.read_text())
    runner, job, child = project.start_hanging("Train")

    os.kill(runner.pid, signal.SIGTERM)
    time.sleep(0.5)  # the runner has sent SIGTERM to the job's group: the job ignores it
    assert running(job)
    os.kill(runner.pid, signal.SIGTERM)  # a second signal: SIGKILL
    out, err = runner.communicate(timeout=WAIT_S)

    assert runner.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in out + err
    assert not running(job) and not running(child)
    assert project.state()["steps"]["Train"]["status"] == "Stopped"  # type: ignore[index]


def test_killing_the_parent_that_started_it_stops_the_run(project: Project) -> None:
    # `make run-local` does not pass SIGTERM on to the runner (GNU make kills only remote children):
    # a shell waiting on the runner stands for make here. Killing it must still stop the run.
    command = " ".join(f"'{part}'" for part in project.command()) + "; true"  # not exec'd: sh waits
    parent = subprocess.Popen(
        ["sh", "-c", command],
        env=project.environment(hang="Train"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + WAIT_S
    while not project.pids.exists():
        assert parent.poll() is None and time.monotonic() < deadline, "the job never started hanging"
        time.sleep(0.05)
    job, child = (int(p) for p in project.pids.read_text().split())

    os.kill(parent.pid, signal.SIGKILL)  # the parent goes, without a word to the runner
    parent.wait()
    while project.state()["status"] != "Stopped":
        assert time.monotonic() < deadline, f"the run was not stopped: {project.state()['status']}"
        time.sleep(0.05)
    while running(job) or running(child):
        assert time.monotonic() < deadline, "the job outlived its runner"
        time.sleep(0.05)
    assert project.state()["steps"]["Train"]["status"] == "Stopped"  # type: ignore[index]
