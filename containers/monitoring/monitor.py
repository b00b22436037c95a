"""Check a window of endpoint data capture against the model's baseline: statistics, violations, report.

    python containers/monitoring/monitor.py --model classifier \
        --capture .local/capture/stranger-things-classifier-local --baseline-dir <baseline folder> \
        --output-dir .local/monitoring/classifier [--start 2026-11-30T03:00:00Z --end 2026-11-30T04:00:00Z]

Reads every capture file under --capture whose hour folder (`YYYY/MM/DD/HH`) overlaps [start, end)
and every event whose inferenceTime is in it (no bounds: all of them), computes the signals
(signals.py), compares them with the baseline (baseline.py writes it; drift.py says how, with each
check's false-positive rate), and writes to --output-dir: statistics.json, constraint_violations.json
(`{"violations": [...]}`, empty when nothing drifted), report.html; and CloudWatch metric lines to
--metrics-dir. `--publish-metrics true` also sends them with cloudwatch:PutMetricData (our own
schedule; under Model Monitor the platform publishes the metrics file).

Defaults follow Model Monitor's container contract (AWS docs, "Container Contract Inputs"), so the same
image runs under a Model Monitor schedule: dataset_source, output_path, start_time, end_time,
sagemaker_endpoint_name, sagemaker_monitoring_schedule_name, baseline_statistics and
baseline_constraints from the environment when set, else the processing paths below. Exit status 0
even with violations: the violations are the job's result, read by the alarm and the report.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.cli import add_flag, str_to_bool
from containers.common.errors import MissingInputError, run_main
from containers.common.io import read_json, setup_logging, write_json
from containers.monitoring import outputs
from containers.monitoring.capture import capture_files, read_events
from containers.monitoring.signals import UnreadableRecord, record_signals
from containers.monitoring.stats_files import compare, settings_from
from containers.processing.characters import Cast, load_cast

LOG = logging.getLogger("monitor")
DEFAULT_CHARACTERS = Path(__file__).resolve().parents[2] / "conf" / "characters.yaml"
VIOLATIONS_FILE = "constraint_violations.json"


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (`2026-11-30T03:00:00Z`; Model Monitor writes `2019-12-01T15: 20: 00Z` with spaces)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "").replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO time like 2026-11-30T03:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class MonitorArguments:
    """The job's arguments, checked before any capture file is read."""

    model: str
    capture: Path
    baseline_dir: Path
    baseline_statistics: Path | None
    baseline_constraints: Path | None
    characters: Path
    output_dir: Path
    metrics_dir: Path
    start: datetime | None
    end: datetime | None
    window_hours: int | None
    endpoint_name: str
    schedule_name: str
    alpha: float | None
    min_window: int | None
    publish_metrics: bool

    def __post_init__(self) -> None:
        if self.window_hours is not None:
            if self.window_hours < 1 or self.end is None or self.start is not None:
                raise ValueError("--window-hours N (N >= 1) goes with --end and without --start")
            # A schedule knows only when it fires (--end); the window is the hours before it.
            object.__setattr__(self, "start", self.end - timedelta(hours=self.window_hours))
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"--start {self.start.isoformat()} must be before --end {self.end.isoformat()}")
        if self.alpha is not None and not 0 < self.alpha < 0.5:
            raise ValueError(f"--alpha {self.alpha} must be in (0, 0.5)")
        if self.min_window is not None and self.min_window < 1:
            raise ValueError(f"--min-window {self.min_window} must be at least 1")


def parse_args(argv: list[str] | None = None, env: dict[str, str] | None = None) -> MonitorArguments:
    env = dict(os.environ if env is None else env)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_flag(parser, "--model", choices=("classifier", "chatbot"), required=True)
    add_flag(
        parser,
        "--capture",
        type=Path,
        default=Path(env.get("dataset_source", "/opt/ml/processing/input/endpoint")),
    )
    add_flag(parser, "--baseline-dir", type=Path, default=Path("/opt/ml/processing/input/baseline"))
    add_flag(parser, "--baseline-statistics", type=Path, default=env.get("baseline_statistics"))
    add_flag(parser, "--baseline-constraints", type=Path, default=env.get("baseline_constraints"))
    add_flag(parser, "--characters", type=Path, default=DEFAULT_CHARACTERS)
    add_flag(
        parser,
        "--output-dir",
        type=Path,
        default=Path(env.get("output_path", "/opt/ml/processing/resultdata")),
    )
    add_flag(parser, "--metrics-dir", type=Path, default=Path("/opt/ml/output/metrics/cloudwatch"))
    add_flag(parser, "--start", type=parse_time, default=parse_time(env.get("start_time")))
    add_flag(parser, "--end", type=parse_time, default=parse_time(env.get("end_time")))
    add_flag(parser, "--window-hours", type=int, default=None, help="the window: these hours before --end")
    add_flag(parser, "--endpoint-name", default=env.get("sagemaker_endpoint_name", ""))
    add_flag(
        parser, "--schedule-name", default=env.get("sagemaker_monitoring_schedule_name", "drift-schedule")
    )
    add_flag(
        parser,
        "--alpha",
        type=float,
        default=None,
        help="per-check false-positive rate (baseline's by default)",
    )
    add_flag(parser, "--min-window", type=int, default=None, help="fewer records than this are not checked")
    add_flag(parser, "--publish-metrics", type=str_to_bool, default=False, help="cloudwatch:PutMetricData")
    return MonitorArguments(**vars(parser.parse_args(argv)))


def window_signals(
    model: str, events: list[Any], vocabulary: set[str], cast: Cast
) -> tuple[list[dict[str, Any]], list[str]]:
    """Signal rows of the window's events, and one message per event the model's contract cannot read."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for event in events:
        try:
            rows.extend(record_signals(model, event.request, event.response, vocabulary, cast))
        except UnreadableRecord as exc:
            errors.append(f"{event.source}: {exc}")
    return rows, errors


def main(args: MonitorArguments) -> dict[str, Any]:
    """Write statistics, violations, report and metric lines; returns {"violations", "statistics"}."""
    stats_path = args.baseline_statistics or args.baseline_dir / "statistics.json"
    constraints_path = args.baseline_constraints or args.baseline_dir / "constraints.json"
    vocabulary_path = Path(stats_path).parent / "vocabulary.json"
    for path in (stats_path, constraints_path, vocabulary_path):
        if not Path(path).is_file():
            raise MissingInputError(
                f"{path} is missing; run containers/monitoring/baseline.py for this model first"
            )
    baseline, constraints = read_json(Path(stats_path)), read_json(Path(constraints_path))
    vocabulary = set(read_json(vocabulary_path)["words"])
    settings = settings_from(constraints, alpha=args.alpha, min_window=args.min_window)

    files = capture_files(args.capture, args.start, args.end)
    events, bad_lines = read_events(files, args.start, args.end)
    rows, unreadable = window_signals(args.model, events, vocabulary, load_cast(args.characters))
    problems = bad_lines + unreadable
    for message in problems[:5]:
        LOG.warning("skipped %s", message)
    LOG.info(
        "%d capture files, %d events, %d signal rows, %d skipped",
        len(files),
        len(events),
        len(rows),
        len(problems),
    )
    if len(rows) < settings.min_window:
        LOG.warning(
            "%d records is under the %d a window needs: drift not checked", len(rows), settings.min_window
        )

    statistics, results, violations = compare(baseline, constraints, rows, len(problems), settings)
    statistics["window"] = {
        "start": args.start.isoformat() if args.start else None,
        "end": args.end.isoformat() if args.end else None,
        "files": len(files),
    }
    write_json(args.output_dir / "statistics.json", statistics)
    write_json(args.output_dir / VIOLATIONS_FILE, {"violations": violations})
    title = f"Drift report: {args.endpoint_name or args.model}"
    (args.output_dir / "report.html").write_text(
        outputs.html_report(baseline, statistics, violations, title), encoding="utf-8"
    )
    when = args.end or datetime.now(UTC)
    lines = outputs.metric_lines(
        statistics, results, violations, args.endpoint_name or args.model, args.schedule_name, when
    )
    outputs.write_metric_lines(args.metrics_dir, lines)
    if args.publish_metrics:
        LOG.info("published %d CloudWatch metrics", outputs.publish_metrics(lines))
    for v in violations:
        LOG.warning("VIOLATION %s %s: %s", v["feature_name"], v["constraint_check_type"], v["description"])
    LOG.info("%d violation(s); report %s", len(violations), args.output_dir / "report.html")
    return {"violations": violations, "statistics": statistics}


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
