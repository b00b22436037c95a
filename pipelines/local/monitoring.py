"""`make monitor-local`: the drift monitoring job over what `make serve-local` captured, per endpoint.

    python -m pipelines monitor-local [--home .local] [--endpoint NAME] [--start ISO --end ISO]

For each local endpoint with captured traffic in its live variant
(`<home>/capture/<endpoint>/AllTraffic/YYYY/MM/DD/HH/`; a challenger captures under its own variant):
1. the baseline of the version it serves: the one its own run computed (ComputeChatbotBaseline /
   ComputeClassifierBaseline, beside the model in the run's S3 mirror; RegisterModel carries it as
   DriftCheckBaselines). A version from a run older than those steps gets one made once from its run's
   datasets (containers/monitoring/baseline.py, the deployed model answering the held-out texts), kept
   in `<home>/monitoring/<endpoint>/baseline-v<version>/`;
2. the job itself (containers/monitoring/monitor.py), the same code as in SageMaker, writing
   statistics.json, constraint_violations.json, report.html and CloudWatch metric lines to
   `<home>/monitoring/<endpoint>/latest/`.
The violations are printed; the exit status is 1 with --strict when any endpoint has one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from conf import load_config
from containers.monitoring import baseline, monitor
from model_registry.local import LocalRegistry
from model_registry.naming import LIVE_VARIANT
from model_registry.settings import model_of
from model_registry.types import Endpoint
from project.defaults import REGISTRY_DB_NAME
from steps.names import MODEL_STEPS

LOG = logging.getLogger("pipelines.local.monitoring")
# The Compute*Baseline steps' output name (steps/baseline.py; not imported: it loads the SageMaker SDK).
BASELINE_OUTPUT = "baseline"
SPLITS = {"chatbot": "chatbot", "classifier": "classifier"}  # dataset folder prefixes (docs/contracts.md)


class MonitoringSetupError(RuntimeError):
    """Something monitor-local needs is missing; the message says which command makes it."""


@dataclass
class EndpointResult:
    endpoint: str
    model: str
    report_dir: Path | None = None
    violations: list[dict[str, str]] = field(default_factory=list)
    records: int = 0
    note: str = ""


def _run_folders(model_data_url: str) -> list[Path]:
    """Folders that may hold the run's step outputs, nearest first: each parent of the model, and the
    run's own folder (<prefix>/runs/<execution>) beside it. A tuned model lives under the fixed tuning
    prefix (<env>/tuning/<step>/model, steps/tune.py), not under its execution's folder; a local run's
    S3 mirror holds that one execution, so the single runs/<execution> folder is the run's."""
    folders: list[Path] = []
    for parent in Path(model_data_url).parents:
        folders.append(parent)
        executions = [p for p in (parent / "runs").glob("*") if p.is_dir()]
        if len(executions) == 1:
            folders.append(executions[0])
    return folders


def datasets_of(model_data_url: str, model: str) -> Path:
    """The Prepare step's output folder of the run that trained `model_data_url` (its S3 mirror)."""
    prepare = MODEL_STEPS[model]["prepare"]
    for parent in _run_folders(model_data_url):
        if (parent / prepare / f"{SPLITS[model]}_train").is_dir():
            return parent / prepare
    raise MonitoringSetupError(
        f"no {prepare} output beside {model_data_url}: the run that trained this version is gone; "
        "run `make run-local` again (a new version gets its baseline from its own run)"
    )


def pipeline_baseline(model_data_url: str, model: str) -> Path | None:
    """The baseline folder the version's own run wrote (its Compute*Baseline step), if there is one."""
    step = MODEL_STEPS[model]["baseline"]
    for parent in _run_folders(model_data_url):
        folder = parent / step / BASELINE_OUTPUT
        if (folder / "statistics.json").is_file():
            return folder
    return None


def ensure_baseline(home: Path, registry: LocalRegistry, endpoint: Endpoint, model: str) -> Path:
    """The version's baseline folder: its run's, else one made from its run's datasets on first use."""
    version = registry.get(endpoint.group, endpoint.version)
    computed = pipeline_baseline(version.model_data_url, model)
    if computed is not None:
        return computed
    folder = home / "monitoring" / endpoint.name / f"baseline-v{endpoint.version}"
    if (folder / "statistics.json").is_file():
        return folder
    data = datasets_of(version.model_data_url, model)
    prefix = SPLITS[model]
    args = baseline.parse_args(
        [
            "--model", model,
            "--train", str(data / f"{prefix}_train"),
            "--held-out", str(data / f"{prefix}_validation"), str(data / f"{prefix}_test"),
            "--model-dir", str(endpoint.model_dir),
            "--output-dir", str(folder),
        ]
    )  # fmt: skip
    LOG.info("baseline of %s v%d from %s", endpoint.group, endpoint.version, data)
    baseline.main(args)
    return folder


def monitor_endpoint(
    home: Path, registry: LocalRegistry, endpoint: Endpoint, start: datetime | None, end: datetime | None
) -> EndpointResult:
    cfg = load_config("local")
    model = model_of(cfg, endpoint.group)
    result = EndpointResult(endpoint.name, model)
    # The live variant's traffic against the live version's baseline; a challenger or shadow beside it
    # captures under its own variant (model_registry/variants.py) and is not mixed in.
    capture = home / "capture" / endpoint.name / LIVE_VARIANT
    if not any(capture.rglob("*.jsonl")):
        result.note = f"no traffic captured under {capture}: send requests through `make serve-local`"
        return result
    baseline_dir = ensure_baseline(home, registry, endpoint, model)
    out = home / "monitoring" / endpoint.name / "latest"
    argv = [
        "--model", model,
        "--capture", str(capture),
        "--baseline-dir", str(baseline_dir),
        "--output-dir", str(out),
        "--metrics-dir", str(out / "metrics"),
        "--endpoint-name", endpoint.name,
        "--alpha", str(cfg.monitoring.alpha),
        "--min-window", str(cfg.monitoring.min_window),
    ]  # fmt: skip
    if start:
        argv += ["--start", start.isoformat()]
    if end:
        argv += ["--end", end.isoformat()]
    outcome: dict[str, Any] = monitor.main(monitor.parse_args(argv, env={}))
    result.report_dir = out
    result.violations = outcome["violations"]
    result.records = outcome["statistics"]["dataset"]["item_count"]
    if result.records < cfg.monitoring.min_window:
        result.note = f"{result.records} records: fewer than {cfg.monitoring.min_window}, drift not checked"
    return result


def monitor_local(
    home: Path, only: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> list[EndpointResult]:
    db = home / REGISTRY_DB_NAME
    if not db.is_file():
        raise MonitoringSetupError(f"{db} not found: run `make run-local` first")
    registry = LocalRegistry(db)
    endpoints = [e for e in registry.list_endpoints() if only is None or e.name == only]
    if not endpoints:
        raise MonitoringSetupError(
            f"no local endpoint{' named ' + only if only else ''}: run `make run-local` first"
        )
    return [monitor_endpoint(home, registry, e, start, end) for e in endpoints]


def format_results(results: list[EndpointResult]) -> str:
    """What a person reads: per endpoint, the records, the violations and where the report is."""
    lines = []
    for r in results:
        if r.report_dir is None:
            lines.append(f"{r.endpoint}: {r.note}")
            continue
        status = f"{len(r.violations)} violation(s)" if r.violations else "no violations"
        lines.append(f"{r.endpoint} ({r.model}): {r.records} records, {status}")
        lines += [
            f"  - {v['feature_name']} [{v['constraint_check_type']}]: {v['description']}"
            for v in r.violations
        ]
        if r.note:
            lines.append(f"  note: {r.note}")
        lines.append(f"  report: {r.report_dir / 'report.html'}")
        lines.append(f"  violations: {r.report_dir / monitor.VIOLATIONS_FILE}")
    return "\n".join(lines)
