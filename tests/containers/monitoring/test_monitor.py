"""The monitoring job end to end: a baseline from the show's lines, capture windows, violations or none."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from containers.common.io import read_json
from containers.monitoring import monitor
from tests.containers.monitoring import traffic

WINDOW = 60


@pytest.fixture(scope="module")
def baseline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return traffic.make_baseline(tmp_path_factory.mktemp("baseline"))


run_window = traffic.run_window


def held_out_lines() -> list[str]:
    """Lines of episodes neither the training nor the held-out baseline split used."""
    return traffic.transcript_lines(exclude=(*traffic.BASELINE_EPISODES, "S02E02"))


def flagged(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v["feature_name"], v["constraint_check_type"]) for v in result["violations"]}


def test_baseline_files_are_in_model_monitor_form(baseline_dir: Path) -> None:
    statistics = read_json(baseline_dir / "statistics.json")
    constraints = read_json(baseline_dir / "constraints.json")
    names = [f["name"] for f in statistics["features"]]
    assert names == ["input_tokens", "oov_rate", "cast_mentions", "language", "predicted_label", "confidence"]
    language = next(f for f in statistics["features"] if f["name"] == "language")
    buckets = {
        b["value"]: b["count"]
        for b in language["string_statistics"]["distribution"]["categorical"]["buckets"]
    }
    assert buckets["en"] > sum(buckets.values()) / 2  # the show is in English
    oov = next(f for f in statistics["features"] if f["name"] == "oov_rate")["numerical_statistics"]
    # Cross-fitted: lines of rows held out of a fold bring a few words the other folds lack (the sample
    # corpus reuses its words a lot); measured against a vocabulary that holds them, the rate would be 0.
    assert 0.0 < oov["mean"] < 0.05
    assert constraints["monitoring_config"]["drift"]["alpha"] == 0.001
    assert {f["name"] for f in constraints["features"]} == set(names)
    assert "the" in read_json(baseline_dir / "vocabulary.json")["words"]


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_traffic_like_the_training_data_raises_no_violation(
    tmp_path: Path, baseline_dir: Path, seed: int
) -> None:
    texts = traffic.sample(held_out_lines(), WINDOW, seed)
    result = run_window(tmp_path, baseline_dir, texts, traffic.classifier_answers(WINDOW, seed))
    assert result["violations"] == []
    assert read_json(tmp_path / "out" / "constraint_violations.json") == {"violations": []}
    assert result["statistics"]["dataset"]["item_count"] == WINDOW


def test_requests_from_another_domain_drift_on_vocabulary_and_cast(
    tmp_path: Path, baseline_dir: Path
) -> None:
    texts = traffic.sample(traffic.OTHER_DOMAIN, WINDOW, 5)
    result = run_window(tmp_path, baseline_dir, texts, traffic.classifier_answers(WINDOW, 5))
    assert {("oov_rate", "baseline_drift_check"), ("cast_mentions", "baseline_drift_check")} <= flagged(
        result
    )
    assert ("predicted_label", "baseline_drift_check") not in flagged(result)


def test_requests_in_another_language_drift_on_language(tmp_path: Path, baseline_dir: Path) -> None:
    texts = traffic.sample(traffic.SPANISH, WINDOW, 6)
    result = run_window(tmp_path, baseline_dir, texts, traffic.classifier_answers(WINDOW, 6))
    assert ("language", "baseline_drift_check") in flagged(result)
    language = next(v for v in result["violations"] if v["feature_name"] == "language")
    assert "es " in language["description"]  # the message names what the window holds


def test_a_label_collapse_is_flagged_on_labels_and_confidence(tmp_path: Path, baseline_dir: Path) -> None:
    texts = traffic.sample(held_out_lines(), WINDOW, 7)
    result = run_window(tmp_path, baseline_dir, texts, traffic.classifier_answers(WINDOW, 7, collapsed="lab"))
    assert flagged(result) == {
        ("predicted_label", "baseline_drift_check"),
        ("confidence", "baseline_drift_check"),
    }


def test_outputs_a_person_and_cloudwatch_can_read(tmp_path: Path, baseline_dir: Path) -> None:
    texts = traffic.sample(traffic.SPANISH, WINDOW, 8)
    result = run_window(tmp_path, baseline_dir, texts, traffic.classifier_answers(WINDOW, 8))
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "language" in page and "violation(s)" in page and "<script" not in page
    lines = [json.loads(x) for x in (tmp_path / "metrics" / "metrics.jsonl").read_text().splitlines()]
    by_name = {x["MetricName"]: x for x in lines}
    assert by_name["constraint_violations"]["Value"] == len(result["violations"]) > 0
    assert by_name["records"]["Value"] == WINDOW
    assert by_name["feature_baseline_drift_language"]["Value"] > 0.1
    assert by_name["records"]["Dimensions"] == [
        {"Name": "Endpoint", "Value": "classifier-ep"},
        {"Name": "MonitoringSchedule", "Value": "drift-schedule"},
    ]


def test_a_small_window_is_not_checked_and_bad_lines_are_counted(tmp_path: Path, baseline_dir: Path) -> None:
    texts = traffic.sample(traffic.SPANISH, 10, 9)
    capture = tmp_path / "capture"
    traffic.write_traffic(capture, "classifier-ep", texts, traffic.classifier_answers(10, 9), traffic.START)
    hour = next(capture.rglob("*.jsonl"))
    with hour.open("a") as handle:
        handle.write('{"captureData": {}}\n')
    args = monitor.parse_args(
        ["--model", "classifier", "--capture", str(capture), "--baseline-dir", str(baseline_dir),
         "--output-dir", str(tmp_path / "out"), "--metrics-dir", str(tmp_path / "m")],
        env={},
    )  # fmt: skip
    result = monitor.main(args)
    assert flagged(result) == {("capture", "completeness_check")}  # 1 of 11 unreadable; drift unchecked


def test_the_window_bounds_select_hours_and_events(tmp_path: Path, baseline_dir: Path) -> None:
    texts = traffic.sample(held_out_lines(), 120, 10)  # two hours of traffic, a minute apart
    capture = tmp_path / "capture"
    traffic.write_traffic(capture, "classifier-ep", texts, traffic.classifier_answers(120, 10), traffic.START)
    start = traffic.START + timedelta(hours=1)
    args = monitor.parse_args(
        ["--model", "classifier", "--capture", str(capture), "--baseline-dir", str(baseline_dir),
         "--output-dir", str(tmp_path / "out"), "--metrics-dir", str(tmp_path / "m"),
         "--start", start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--end", "2026-11-30T04:30:00Z"],
        env={},
    )  # fmt: skip
    result = monitor.main(args)
    assert result["statistics"]["dataset"]["item_count"] == 30
    assert result["statistics"]["window"]["files"] == 1


def test_a_schedule_gives_the_end_and_the_window_hours() -> None:
    args = monitor.parse_args(
        ["--model", "classifier", "--end", "2026-11-30T04:15:00Z", "--window-hours", "2"], env={}
    )
    assert (args.start.hour, args.start.minute, args.end.hour) == (2, 15, 4)
    with pytest.raises(ValueError, match="goes with --end and without --start"):
        monitor.parse_args(["--model", "classifier", "--window-hours", "1"], env={})


def test_model_monitor_environment_gives_the_defaults() -> None:
    env = {
        "dataset_source": "/opt/ml/processing/endpointdata",
        "output_path": "/opt/ml/processing/resultdata",
        "start_time": "2019-12-01T15: 20: 00Z",
        "end_time": "2019-12-01T16: 20: 00Z",
        "sagemaker_endpoint_name": "endpoint-name",
        "sagemaker_monitoring_schedule_name": "schedule-name",
    }
    args = monitor.parse_args(["--model", "chatbot"], env=env)
    assert args.capture == Path("/opt/ml/processing/endpointdata")
    assert (args.start.hour, args.start.minute, args.end.hour) == (15, 20, 16)
    assert (args.endpoint_name, args.schedule_name) == ("endpoint-name", "schedule-name")


def test_a_missing_baseline_says_how_to_make_one(tmp_path: Path) -> None:
    args = monitor.parse_args(["--model", "classifier", "--baseline-dir", str(tmp_path)], env={})
    with pytest.raises(FileNotFoundError, match=r"run containers/monitoring/baseline\.py"):
        monitor.main(args)


@pytest.mark.parametrize("script", ["monitor.py", "baseline.py"])
def test_scripts_run_as_files_and_document_their_flags(script: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(traffic.REPO / "containers" / "monitoring" / script), "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout.startswith("usage: ") and "--model" in done.stdout and "--output-dir" in done.stdout


def test_report_bins_say_which_values_they_hold() -> None:
    from containers.monitoring.outputs import bin_labels

    assert bin_labels([2.0, 3.0, 5.0]) == ["<= 2", "3", "4 to 5", "> 5"]  # word counts
    assert bin_labels([0.05, 0.333]) == ["<= 0.05", "over 0.05 to 0.333", "> 0.333"]  # rates
