"""Where a local run's results are, for people: the files to open, `.local/latest`, pruning old runs.

    output_files(run_dir)            [(label, path)] of network.html, themes.png, evaluation.json, ...
    point_latest(home, run_dir)      <home>/latest -> the run folder (swapped atomically)
    python -m pipelines.local.outputs prune --keep 3      what `make clean-runs` runs

Pruning removes run folders only: the registry (registry.db, model-cards/), the endpoints' unpacked
models (deployed/) and the step cache stay. A run folder holding the model of an Approved version is
kept too: approving or rolling back unpacks the version from its model_data_url, inside its run; so is
a folder whose run lock is held (a run or an orphaned job still using it).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from model_registry.local import LocalRegistry
from pipelines.local.run_lock import RunLock, RunLockedError
from project.defaults import LOCAL_HOME, REGISTRY_DB_NAME

LOG = logging.getLogger(__name__)

# What a person opens after a run, in this order: the character network, the theme heatmap, each
# model's evaluation report and the chatbot's sample replies.
OPEN_FILES: tuple[str, ...] = ("network.html", "themes.png", "evaluation.json", "samples.jsonl")
LATEST = "latest"
RUNS = "runs"
DEFAULT_KEEP = 3
# The RegisterModel property where the local registry says where it wrote the version's card as text.
CARD_PROPERTY = "LocalModelCardPath"


def output_files(run_dir: Path) -> list[tuple[str, Path]]:
    """(step name, absolute path) of each OPEN_FILES file the run's steps wrote, in OPEN_FILES order.

    Read from the run's stand-in S3 tree (<run>/s3/.../<Step>/<output>/<file>), else the jobs' own
    output folders (<run>/steps/<Step>/opt_ml/...), so each file is listed once.
    """
    found: list[tuple[str, Path]] = []
    for name in OPEN_FILES:
        for root, step_of in ((run_dir / "s3", _s3_step), (run_dir / "steps", _job_step)):
            paths = sorted(root.rglob(name)) if root.is_dir() else []
            if paths:
                found += [(step_of(path, root), path.resolve()) for path in paths]
                break
    return found


def _s3_step(path: Path, root: Path) -> str:
    return path.parent.parent.name  # .../<Step>/<output>/<file>


def _job_step(path: Path, root: Path) -> str:
    return path.relative_to(root).parts[0]  # <Step>/opt_ml/...


def link(path: Path) -> str:
    """A path most terminals make clickable: a file:// URI of the absolute path."""
    return path.resolve().as_uri()


def point_latest(home: Path, run_dir: Path) -> Path:
    """Make <home>/latest point at `run_dir`, replacing any earlier link in one rename (never missing)."""
    latest = home / LATEST
    if latest.exists() and not latest.is_symlink():
        raise FileExistsError(
            f"{latest} exists and is not a link: move it away so it can point at the last run"
        )
    run_dir = run_dir.resolve()
    try:
        target: Path = run_dir.relative_to(home.resolve())  # relative: survives moving the home
    except ValueError:
        target = run_dir
    temporary = home / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    os.replace(temporary, latest)
    return latest


@dataclass
class Pruned:
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    kept_for_registry: list[Path] = field(default_factory=list)
    kept_in_use: list[Path] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"removed {p}" for p in self.removed]
        lines += [f"kept {p} (holds an approved model version)" for p in self.kept_for_registry]
        lines += [f"kept {p} (a run is using it)" for p in self.kept_in_use]
        kept = len(self.kept) + len(self.kept_for_registry) + len(self.kept_in_use)
        lines.append(
            f"{len(self.removed)} run folders removed, {kept} kept; "
            "registry.db, model-cards/, deployed/ and cache/ untouched"
        )
        return "\n".join(lines)


def _approved_models(home: Path) -> list[Path]:
    db = home / REGISTRY_DB_NAME
    if not db.is_file():
        return []
    registry = LocalRegistry(db)
    return [
        Path(v.model_data_url).resolve()
        for group in registry.list_groups()
        for v in registry.list_versions(group, status="Approved")
    ]


def prune_runs(home: Path, keep: int = DEFAULT_KEEP) -> Pruned:
    """Remove all but the newest `keep` run folders (ids sort by start time) and any holding an approved
    version's model; the latest link is never left dangling (the newest run is always kept)."""
    if keep < 1:
        raise ValueError(f"keep={keep}: keep at least the last run (KEEP=1 or more)")
    runs_dir = home / RUNS
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    approved = _approved_models(home)
    result = Pruned(kept=runs[-keep:])
    for run in runs[:-keep]:
        resolved = run.resolve()
        if any(model.is_relative_to(resolved) for model in approved):
            result.kept_for_registry.append(run)
            continue
        try:
            lock = RunLock.acquire(run)  # a run (or its orphaned job) still holding the folder keeps it
        except RunLockedError:
            result.kept_in_use.append(run)
            continue
        try:
            shutil.rmtree(run)
        finally:
            lock.release()
        result.removed.append(run)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.local.outputs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    prune = sub.add_parser("prune", help="remove old run folders, keep the registry and deployed models")
    prune.add_argument("--keep", type=int, default=DEFAULT_KEEP, help=f"newest runs to keep ({DEFAULT_KEEP})")
    prune.add_argument("--home", type=Path, default=LOCAL_HOME, help="the runner's home (.local)")
    args = parser.parse_args(argv)
    try:
        result = prune_runs(args.home, args.keep)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    sys.stdout.write(result.text() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
