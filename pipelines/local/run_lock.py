"""One runner per run folder: `<run>/run.lock`, held while the run and any of its jobs is alive.

A second `run-local --run-dir X` or a `--resume` of a run that is still going would write the same
state.json and the same step folders as the live runner. The lock refuses it, naming who holds it.

How a live holder is told from a stale lock: the lock is an advisory `flock` on the file, which the
kernel releases when the last descriptor of it is closed, that is when its holder exits, however it
exits (SIGKILL and power loss included). The pid in the file is only for the message. So a lock file
left behind by a dead runner is taken over without asking, and a pid that was reused meanwhile by an
unrelated process cannot keep a run folder locked. The jobs inherit the descriptor (see
`processes.JobControl`): while a job of a killed runner still runs, the folder stays locked and the
message names that job's process group, so `--resume` never runs beside an orphan.

The file is never deleted (deleting it would let a waiting opener lock a file nobody else sees);
releasing empties it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOCK_FILE = "run.lock"


class RunLockedError(RuntimeError):
    """The run folder is in use by another runner, or by jobs of a runner that died."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def held_message(run_dir: Path, holder: dict[str, Any]) -> str:
    """Why the folder is locked and what to do, from what the holder wrote into the lock file."""
    pid, host = holder.get("pid"), holder.get("host")
    jobs: dict[str, int] = holder.get("jobs") or {}
    job_text = ", ".join(f"{step} (process group {pgid})" for step, pgid in sorted(jobs.items()))
    if isinstance(pid, int) and host == socket.gethostname() and not _alive(pid):
        groups = " ".join(f"-{pgid}" for pgid in sorted(jobs.values())) or "<group>"
        return (
            f"{run_dir} is still in use: its runner (pid {pid}) is gone, but jobs it started still run"
            f"{': ' + job_text if job_text else ''}; stop them (kill -- {groups}) and resume again"
        )
    who = f"run-local (pid {pid} on {host}, since {holder.get('since', '?')})" if pid else "another runner"
    running = f"; running: {job_text}" if job_text else ""
    return (
        f"{run_dir} is in use by {who}{running}: wait for it to finish, or stop it (Ctrl-C, or kill {pid}) "
        "and resume then"
    )


class RunLock:
    """The lock of one run folder, held from `acquire` until `release`."""

    def __init__(self, path: Path, fd: int, previous: dict[str, Any]) -> None:
        self.path = path
        self.fd = fd
        # What a dead holder left in the file (its pid, its jobs), or {} for a fresh lock.
        self.previous = previous
        self._content: dict[str, Any] = {}

    @classmethod
    def acquire(cls, run_dir: Path) -> RunLock:
        """Lock `run_dir` (created if needed) or raise RunLockedError saying who holds it."""
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLockedError(held_message(run_dir, _read(path))) from None
        lock = cls(path, fd, _read(path))
        lock.write(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "jobs": {},
            }
        )
        return lock

    @property
    def took_over_from(self) -> int | None:
        """The pid of a runner that held this folder and died without releasing it, if any."""
        pid = self.previous.get("pid")
        return pid if isinstance(pid, int) else None

    def write(self, content: dict[str, Any]) -> None:
        self._content = content
        data = (json.dumps(content, sort_keys=True) + "\n").encode("utf-8")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def record_jobs(self, jobs: dict[str, int]) -> None:
        """Note the live jobs' process groups (what the message names if the runner dies)."""
        with contextlib.suppress(OSError):  # the record is for a message: never fail a job over it
            self.write({**self._content, "jobs": jobs})

    def release(self) -> None:
        if self.fd < 0:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # closing the last descriptor releases the flock
        self.fd = -1
