"""The local runner's side of the plan: the next run (definition, parameters, data fingerprints from the
files) and the previous one (the last run folder's definition.json and state.json)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from containers.processing.fingerprint_data import DEFAULT_FOLDERS, fingerprint
from pipelines.local.dag import load_definition, resolve_parameters
from pipelines.local.state import DONE_OK, SUCCEEDED, RunState
from pipelines.plan.cache_plan import Execution

LOG = logging.getLogger(__name__)
FINGERPRINT_STEP = "FingerprintData"  # steps.names.FINGERPRINT_DATA (steps/ imports the SDK: not here)


def local_fingerprints(data_uri: str, folders: tuple[str, ...] = DEFAULT_FOLDERS) -> dict[str, str]:
    """Each data folder's SHA-256, computed from the files as FingerprintData computes it (same code)."""
    root = Path(data_uri.removeprefix("file://"))
    found = fingerprint(root, folders)
    return {name: part.sha256 for name, part in found.folders.items()}


def next_local_run(definition: Mapping[str, Any], overrides: Mapping[str, str]) -> Execution:
    """The next `make run-local`: this definition, these parameters, the data as it is now."""
    parameters = resolve_parameters(definition, overrides)
    return Execution(definition, parameters, local_fingerprints(str(parameters["InputDataUri"])))


def previous_local_run(run_dir: Path) -> Execution:
    """A finished (or failed) run folder as the baseline: what it ran, with which data, what it kept."""
    state = RunState.load(run_dir / "state.json")
    fingerprints: dict[str, str] | None = None
    record = state.steps.get(FINGERPRINT_STEP)
    for path in record.property_files.values() if record else []:
        if Path(path).is_file():
            folders = json.loads(Path(path).read_text(encoding="utf-8")).get("folders", {})
            fingerprints = {name: part["sha256"] for name, part in folders.items()}
    if fingerprints is None:
        LOG.warning("%s: no fingerprint.json from FingerprintData; data changes cannot be told", run_dir)
    return Execution(
        definition=load_definition(run_dir / "definition.json"),
        parameters=state.parameters,
        fingerprints=fingerprints,
        completed=frozenset(name for name, rec in state.steps.items() if rec.status in DONE_OK),
        # A cache hit's time is the restore's, not the job's: only steps that ran tell how long they take.
        durations={
            name: rec.duration_s
            for name, rec in state.steps.items()
            if rec.duration_s and rec.status == SUCCEEDED
        },
    )
