"""Live progress of a local run (one line per state change) and the summary at its end.

The summary is what a person reads after `make run-local`: every step's status, duration and cache use;
training metrics and evaluation reports; each quality gate's comparison and branch; registered
versions; endpoints; for a failed step its message and the tail of its log; and last, the files a
person opens (network.html, themes.png, the evaluation reports, sample replies, model cards) as links.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from model_registry.metrics import metrics_from_report
from pipelines.local.dag import Dag
from pipelines.local.outputs import CARD_PROPERTY, LATEST, link, output_files
from pipelines.local.state import CACHED, FAILED, SKIPPED, STOPPED, RunResult, RunState, StepRecord

LOG_TAIL_LINES = 25


def _metric_text(metrics: dict[str, float]) -> str:
    return "  ".join(f"{name}={value:.4g}" for name, value in sorted(metrics.items()))


def report_metrics_of(record: StepRecord) -> dict[str, dict[str, float]]:
    """Metrics in a step's property files that follow the evaluation-report schema, per file.

    A property file that is not such a report (or holds no metric) is left out of the summary.
    """
    found: dict[str, dict[str, float]] = {}
    for name, path in sorted(record.property_files.items()):
        try:
            found[name] = metrics_from_report(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):  # unreadable, not JSON, not an object, no metric
            continue
    return found


def log_tail(path: str | None, lines: int = LOG_TAIL_LINES) -> list[str]:
    if not path or not Path(path).is_file():
        return []
    return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]


class Reporter:
    """Prints to `stream`; `quiet` keeps only the summary."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self._t0 = time.monotonic()
        self._total = 0
        self._done = 0

    def _line(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self._t0:6.1f}s] {text}", file=self.stream, flush=True)

    def begin(self, run_dir: Path, state: RunState, dag: Dag, note: str | None) -> None:
        self._t0 = time.monotonic()
        self._total = len(state.steps)
        self._done = sum(1 for r in state.steps.values() if r.status in (CACHED, "Succeeded", SKIPPED))
        execution = state.execution["PipelineExecutionId"]
        self._line(f"run {execution}: {self._total} steps, folder {run_dir}")
        if self._done:
            self._line(f"resuming: {self._done} steps kept from the earlier attempt")
        if note:
            self._line(f"note: {note}")

    def started(self, record: StepRecord) -> None:
        self._line(f"{'start':7} {record.name} ({record.type})")

    def finished(self, record: StepRecord) -> None:
        self._done += 1
        label = {CACHED: "cached", FAILED: "FAILED", SKIPPED: "skip", STOPPED: "STOPPED"}.get(
            record.status, "done"
        )
        detail = (
            f" {record.duration_s:.1f}s" if record.duration_s is not None and record.status != SKIPPED else ""
        )
        extra = ""
        if record.decision:
            extra = f" -> {record.decision['branch']} branch"
        if record.message:
            extra += f" - {record.message}"
        self._line(f"{label:7} {record.name}{detail} [{self._done}/{self._total}]{extra}")

    # -- summary ------------------------------------------------------------------------------------

    def summary(self, result: RunResult) -> None:
        print(render_summary(result), file=self.stream, flush=True)


class LiveReporter(Reporter):
    """On a terminal: one table of every step, redrawn in place on each change and every second."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._records: list[StepRecord] = []
        self._started: dict[str, float] = {}
        self._drawn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._head = ""

    def begin(self, run_dir: Path, state: RunState, dag: Dag, note: str | None) -> None:
        self._t0 = time.monotonic()
        self._records = [state.steps[name] for name in dag.order]
        self._head = f"run {state.execution['PipelineExecutionId']} in {run_dir}" + (
            f" ({note})" if note else ""
        )
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()
        self._redraw()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self._redraw()

    def started(self, record: StepRecord) -> None:
        self._started[record.name] = time.monotonic()
        self._redraw()

    def finished(self, record: StepRecord) -> None:
        self._redraw()

    def _row(self, record: StepRecord) -> str:
        if record.status == "Executing":
            took = f"{time.monotonic() - self._started.get(record.name, self._t0):.0f}s"
        elif record.duration_s is not None and record.status != SKIPPED:
            took = f"{record.duration_s:.1f}s"
        else:
            took = ""
        mark = {"Executing": ">", "Succeeded": "+", CACHED: "=", FAILED: "x", SKIPPED: "-", STOPPED: "!"}.get(
            record.status, " "
        )
        columns = f"{record.name:26} {record.type:15} {record.status:10} {record.cache:5} {took:>7}"
        return f" {mark} {columns}  {record.message}"

    def _redraw(self) -> None:
        width = max(20, shutil.get_terminal_size().columns - 1)  # never wrap: the line count must hold
        lines = [
            f"[{time.monotonic() - self._t0:6.1f}s] {self._head}",
            *(self._row(r) for r in self._records),
        ]
        with self._lock:
            out = f"\x1b[{self._drawn}F" if self._drawn else ""
            out += "".join(f"\x1b[2K{line[:width]}\n" for line in lines)
            self.stream.write(out)
            self.stream.flush()
            self._drawn = len(lines)

    def summary(self, result: RunResult) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._redraw()
        super().summary(result)


def make_reporter(quiet: bool = False, stream: TextIO | None = None) -> Reporter:
    """A live table on an interactive terminal, else one line per state change."""
    out = stream or sys.stdout
    if not quiet and out.isatty() and os.environ.get("TERM", "dumb") != "dumb":
        return LiveReporter(out)
    return Reporter(out, quiet)


def _table(records: list[StepRecord]) -> list[str]:
    width = max(len(r.name) for r in records) + 2
    lines = [f"  {'STEP':{width}}{'TYPE':16}{'STATUS':12}{'CACHE':7}{'TIME':>8}"]
    for r in records:
        took = f"{r.duration_s:.1f}s" if r.duration_s is not None and r.status != SKIPPED else ""
        lines.append(f"  {r.name:{width}}{r.type:16}{r.status:12}{r.cache:7}{took:>8}")
    return lines


def render_summary(result: RunResult) -> str:
    state = result.state
    records = [state.steps[name] for name in result.dag.order]
    head = f"Run {state.execution['PipelineExecutionId']} {state.status} in {result.duration_s:.1f}s"
    lines = ["", head, f"  folder: {result.run_dir}", *_table(records)]
    hits = sum(1 for r in records if r.cache == "hit")
    cacheable = sum(1 for r in records if r.cache in ("hit", "miss"))
    if cacheable:
        lines.append(f"  cache: {hits} of {cacheable} cacheable steps reused")
    lines += _section("Metrics", _metric_lines(records))
    lines += _section("Quality gates", _gate_lines(records))
    lines += _section("Registered", _registered_lines(records))
    lines += _section("Endpoints", _endpoint_lines(records))
    warnings = [f"  {r.name}: {r.message}" for r in records if r.status != FAILED and "warning:" in r.message]
    lines += _section("Warnings", warnings)
    lines += _failure_lines(records)
    if state.status == STOPPED:
        lines.append(f"STOPPED: {state.message}")
    lines += _section("Open", _open_lines(result.run_dir, records))
    return "\n".join(lines)


def _section(title: str, body: list[str]) -> list[str]:
    return [f"{title}:", *body] if body else []


def _metric_lines(records: list[StepRecord]) -> list[str]:
    lines = []
    for r in records:
        if r.type == "Training" and r.metrics:
            lines.append(f"  {r.name}: {_metric_text(r.metrics)}")
        for file, metrics in report_metrics_of(r).items():
            lines.append(f"  {r.name} ({file}): {_metric_text(metrics)}")
    return lines


def _gate_lines(records: list[StepRecord]) -> list[str]:
    lines = []
    for r in records:
        if r.type != "Condition" or not r.decision:
            continue
        for outcome in r.decision["outcomes"]:
            lines.append(f"  {r.name}: {outcome['condition']} -> {str(outcome['value']).lower()}")
        lines.append(f"    took the {r.decision['branch']} branch")
    return lines


def _registered_lines(records: list[StepRecord]) -> list[str]:
    lines = []
    for r in records:
        if r.type == "RegisterModel" and r.properties.get("ModelPackageArn"):
            p: dict[str, Any] = r.properties
            reused = " (reused: identical model already registered)" if r.cache == "hit" else ""
            lines.append(
                f"  {p['ModelPackageGroupName']} v{p['ModelPackageVersion']} {p['ModelApprovalStatus']}"
                f"  {_metric_text(r.metrics)}{reused}"
            )
    return lines


def _endpoint_lines(records: list[StepRecord]) -> list[str]:
    lines = [
        f"  {r.message}"
        for r in records
        if r.status in ("Succeeded", CACHED)
        and (
            r.type == "Endpoint"
            or (r.type == "Lambda" and "endpoint_name" in r.properties.get("OutputParameters", {}))
        )
    ]
    if lines:
        lines.append("  serve them: make serve-local (GET /ping, POST /endpoints/<name>/invocations)")
    return lines


def _open_lines(run_dir: Path, records: list[StepRecord]) -> list[str]:
    """The files a person opens, last in the summary, as file:// links (clickable in most terminals)."""
    found = [(step, path) for step, path in output_files(run_dir) if path.is_file()]
    for r in records:
        card = r.properties.get(CARD_PROPERTY) if r.type == "RegisterModel" else None
        if card and Path(card).is_file():
            found.append((f"{r.name} model card", Path(card)))
    if not found:
        return []
    width = max(len(label) for label, _ in found) + 1
    lines = [f"  {label + ':':{width}} {link(path)}" for label, path in found]
    latest = run_dir.parent.parent / LATEST
    if latest.is_symlink() and latest.resolve() == run_dir.resolve():
        lines.append(f"  (this run is also at {latest})")
    return lines


def _failure_lines(records: list[StepRecord]) -> list[str]:
    lines: list[str] = []
    for r in records:
        if r.status != FAILED:
            continue
        lines.append(f"FAILED {r.name} ({r.type}): {r.message}")
        tail = log_tail(r.log)
        if tail:
            lines.append(f"  --- last {len(tail)} lines of {r.log} ---")
            lines += [f"  | {line}" for line in tail]
    return lines
