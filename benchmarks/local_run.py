"""Time `make run-local` on data/sample: a cold run, then a rerun with nothing changed.

    .venv/bin/python benchmarks/local_run.py [--data data/sample] [--home DIR] [--keep]

Each run is `python -m pipelines run-local --data DATA --home HOME --quiet` in a fresh process, as a
person types it. The cold run starts from an empty home folder (no cache, no built definition), so it
includes building the definition. Peak memory is the largest sum of resident memory over the runner
and all its child processes, sampled every 50 ms from /proc (jobs run two at a time, so the sum is
what the machine must hold). The per-step table shows which step costs what.
Targets (issue #5): cold <= 90 s on 2 cores, peak < 3 GB, rerun <= 10 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and every process below it."""
    tree, total, stack = _children_of(), 0, [root]
    while stack:
        pid = stack.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):  # the process may have just exited
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        stack.extend(tree.get(pid, []))
    return total


def job_label(pid: int) -> str:
    """The script a job process runs (`train_chatbot.py`), or its command's first words."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return str(pid)
    scripts = [Path(arg).name for arg in argv if arg.endswith(".py")]
    return scripts[0] if scripts else " ".join(argv[:3]).strip()


@dataclass
class Measurement:
    """One command's wall time, peak memory (whole tree, and per job process) and output."""

    wall_s: float
    peak_rss: int  # the runner and all its jobs together, at the worst moment
    returncode: int
    output: str
    job_peaks: dict[str, int] = field(default_factory=dict)  # job script -> its own peak tree RSS

    def largest_job(self) -> tuple[str, int]:
        return max(self.job_peaks.items(), key=lambda item: item[1], default=("-", 0))


def measure(command: list[str]) -> Measurement:
    """Run `command`, sampling every 50 ms the RSS of its tree and of each job (a child of the runner)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.monotonic()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak, jobs = 0, {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            for child in _children_of().get(process.pid, []):
                label = job_label(child)
                jobs[label] = max(jobs.get(label, 0), tree_rss(child))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    return Measurement(wall, peak, process.returncode, output, jobs)


def measured_run(command: list[str]) -> tuple[float, int, int, str]:
    """(wall seconds, peak tree RSS bytes, exit code, output) of one command."""
    result = measure(command)
    return result.wall_s, result.peak_rss, result.returncode, result.output


def run_state(home: Path) -> dict | None:
    """The first run's state.json under `home` (the runner records each step's status and duration)."""
    runs = sorted((home / "runs").glob("*/state.json"))
    return json.loads(runs[0].read_text()) if runs else None


def step_table(home: Path) -> list[str]:
    state = run_state(home)
    if state is None:
        return []
    rows = sorted(state["steps"].values(), key=lambda r: -(r["duration_s"] or 0))
    return [
        f"    {r['name']:26} {r['type']:15} {r['status']:10} {(r['duration_s'] or 0):6.1f}s" for r in rows
    ]


def run_local_command(data: Path | str, home: Path) -> list[str]:
    """`python -m pipelines run-local` on `data` with its own home: what every local-run benchmark times."""
    return [
        sys.executable,
        "-m",
        "pipelines",
        "run-local",
        "--data",
        str(data),
        "--home",
        str(home),
        "--quiet",
    ]


def main(args: argparse.Namespace) -> int:
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="local-run-bench-"))
    command = run_local_command(args.data, home)
    print(f"local run benchmark on {os.cpu_count()} CPU(s), data {args.data}, home {home}")
    results = {}
    for label in ("cold", "rerun"):
        wall, peak, code, output = measured_run(command)
        results[label] = (wall, peak)
        print(f"  {label:6} wall {wall:6.1f}s  peak RSS (runner + jobs) {peak / 2**30:5.2f} GB  exit {code}")
        if code != 0:
            print(output[-4000:])
            return code
        if label == "cold":
            print("  cold run, steps by duration:")
            print("\n".join(step_table(home)))
    cold, rerun = results["cold"], results["rerun"]
    verdict = cold[0] <= 90 and max(cold[1], rerun[1]) < 3 * 2**30 and rerun[0] <= 10
    print(f"  targets (cold <= 90 s, peak < 3 GB, rerun <= 10 s): {'met' if verdict else 'NOT met'}")
    if not args.keep and not args.home:
        subprocess.run(["rm", "-rf", str(home)], check=False)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default="data/sample", help="input folder (subtitles/, transcripts/, locations/)"
    )
    parser.add_argument("--home", help="home folder for the runs (default: a fresh temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home folder")
    sys.exit(main(parser.parse_args()))
