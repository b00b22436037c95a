"""The run folder's lock: a live holder is refused by name, a lock left by a dead runner is taken over,
and jobs of a killed runner keep the folder locked until they are gone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.local.run_lock import RunLock, RunLockedError
from tests.pipelines.local.conftest import DemoRunner


def test_a_live_runner_keeps_others_out_of_its_folder(demo: DemoRunner) -> None:
    first, _ = demo.run()
    holder = RunLock.acquire(first.run_dir)  # stands for a runner still working in the folder
    try:
        with pytest.raises(RunLockedError, match=r"is in use by run-local \(pid \d+ on .*: wait for it"):
            demo.run(resume=True, run_dir=first.run_dir)
        with pytest.raises(RunLockedError):
            demo.run(run_dir=first.run_dir)
    finally:
        holder.release()
    resumed, _ = demo.run(resume=True, run_dir=first.run_dir)
    assert resumed.ok


def test_a_lock_left_by_a_dead_runner_is_taken_over(demo: DemoRunner, tmp_path: Path) -> None:
    first, _ = demo.run()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)  # a process that has exited: its flock, had it held one, is gone with it
    (first.run_dir / "run.lock").write_text(json.dumps({"pid": pid, "host": "h", "jobs": {}}))

    resumed, output = demo.run(resume=True, run_dir=first.run_dir)

    assert resumed.ok
    assert f"took over the lock of runner pid {pid}, which exited without releasing it" in output


def test_jobs_of_a_killed_runner_keep_the_folder_locked_and_are_named(demo: DemoRunner) -> None:
    first, _ = demo.run()
    # A "runner" that locks the folder, starts a job that inherits the lock (as JobControl does), records
    # it, and dies without releasing anything; its job lives on.
    script = f"""
import subprocess, sys
from pathlib import Path
from pipelines.local.run_lock import RunLock
lock = RunLock.acquire(Path({str(first.run_dir)!r}))
job = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], pass_fds=(lock.fd,),
                       start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
lock.record_jobs({{"TrainChatbot": job.pid}})
print(job.pid)
"""
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    orphan = int(died.stdout)
    try:
        with pytest.raises(RunLockedError) as refused:
            demo.run(resume=True, run_dir=first.run_dir)
        assert "its runner (pid" in str(refused.value)
        assert f"is gone, but jobs it started still run: TrainChatbot (process group {orphan})" in str(
            refused.value
        )
        assert f"kill -- -{orphan}" in str(refused.value)
    finally:
        subprocess.run(["kill", "--", f"-{orphan}"], check=False)
        subprocess.run(["sh", "-c", f"while kill -0 {orphan} 2>/dev/null; do sleep 0.05; done"], check=False)
    resumed, _ = demo.run(resume=True, run_dir=first.run_dir)
    assert resumed.ok
