"""The capture format: what serve-local writes parses as SageMaker's, laid out as SageMaker lays it out."""

from __future__ import annotations

import base64
import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from containers.monitoring.capture import (
    CaptureFormatError,
    CaptureWriter,
    capture_files,
    capture_record,
    parse_line,
    read_events,
)

WHEN = datetime(2026, 11, 30, 3, 12, 45, tzinfo=UTC)


def test_a_json_invocation_is_captured_as_json_text_with_the_metadata() -> None:
    record = capture_record(
        b'{"inputs": "Where is Will?"}', "application/json", b'{"x": 1}', "application/json", WHEN, "e1"
    )
    assert record == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "application/json",
                "mode": "INPUT",
                "data": '{"inputs": "Where is Will?"}',
                "encoding": "JSON",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": '{"x": 1}',
                "encoding": "JSON",
            },
        },
        "eventMetadata": {"eventId": "e1", "inferenceTime": "2026-11-30T03:12:45Z"},
        "eventVersion": "0",
    }


def test_bodies_that_are_not_json_are_kept_as_base64_and_csv_as_text() -> None:
    record = capture_record(b"\xff\xfe", "application/json", b"a,b\n", "text/csv", WHEN)
    entry = record["captureData"]["endpointInput"]
    assert entry["encoding"] == "BASE64" and base64.b64decode(entry["data"]) == b"\xff\xfe"
    assert record["captureData"]["endpointOutput"]["encoding"] == "CSV"
    event = parse_line(json.dumps(record), "x:1")
    assert (event.request, event.response) == (b"\xff\xfe", "a,b\n")


def test_the_writer_uses_the_endpoint_variant_and_utc_hour_folders(tmp_path: Path) -> None:
    times = iter([WHEN, WHEN + timedelta(minutes=1), WHEN + timedelta(hours=1)])
    writer = CaptureWriter(tmp_path, clock=lambda: next(times))
    paths = [
        writer.write("ep", b'{"inputs": "hi"}', "application/json", b"{}", "application/json")
        for _ in range(3)
    ]
    assert paths[0] == paths[1]  # one file per writer and hour
    assert paths[0].parent == tmp_path / "ep" / "AllTraffic" / "2026" / "11" / "30" / "03"
    assert paths[2].parent.name == "04" and paths[0].name.startswith("12-45-")
    events, errors = read_events(capture_files(tmp_path))
    assert errors == [] and [e.request for e in events] == [{"inputs": "hi"}] * 3


def test_concurrent_writes_leave_whole_lines(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, clock=lambda: WHEN)
    body = json.dumps({"inputs": "x" * 5000}).encode()

    def send() -> None:
        for _ in range(25):
            writer.write("ep", body, "application/json", b"{}", "application/json")

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events, errors = read_events(capture_files(tmp_path))
    assert len(events) == 100 and errors == []


def test_files_outside_the_window_hours_are_not_read(tmp_path: Path) -> None:
    for hour in (1, 2, 3):
        folder = tmp_path / "ep" / "AllTraffic" / "2026" / "11" / "30" / f"{hour:02d}"
        folder.mkdir(parents=True)
        (folder / "a.jsonl").write_text("")
    start, end = datetime(2026, 11, 30, 2, 30, tzinfo=UTC), datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    assert [p.parent.name for p in capture_files(tmp_path, start, end)] == ["02"]
    assert len(capture_files(tmp_path)) == 3


def test_a_file_outside_hour_folders_is_read_and_its_events_kept_to_the_window(tmp_path: Path) -> None:
    """A drift run's manifest input may land its files without the hour folders: they are read, and
    only the window's events count."""
    json_type = "application/json"
    lines = [
        json.dumps(capture_record(body, json_type, b"{}", json_type, when))
        for body, when in ((b'{"inputs": "in"}', WHEN), (b'{"inputs": "late"}', WHEN + timedelta(hours=1)))
    ]
    (tmp_path / "12-45-abc.jsonl").write_text("\n".join(lines) + "\n")
    start, end = WHEN - timedelta(minutes=30), WHEN + timedelta(minutes=30)
    files = capture_files(tmp_path, start, end)
    assert files == [tmp_path / "12-45-abc.jsonl"]
    events, errors = read_events(files, start, end)
    assert errors == [] and [e.request for e in events] == [{"inputs": "in"}]


def test_a_line_that_is_not_capture_names_its_place(tmp_path: Path) -> None:
    with pytest.raises(CaptureFormatError, match=r"f\.jsonl:7: not a SageMaker capture line"):
        parse_line('{"captureData": {}}', "f.jsonl:7")
    bad = json.dumps(capture_record(b"{}", "application/json", b"{}", "application/json", WHEN))
    bad = bad.replace('"encoding": "JSON"', '"encoding": "XML"', 1)
    with pytest.raises(CaptureFormatError, match="encoding must be one of"):
        parse_line(bad, "f.jsonl:8")


def test_capture_cleared_while_serving_is_written_again(tmp_path: Path) -> None:
    """Someone removes old capture while the server runs: the next invocation is captured anew."""
    writer = CaptureWriter(tmp_path / "capture", clock=lambda: WHEN)
    first = writer.write("ep", b'{"inputs": "a"}', "application/json", b"[]", "application/json")
    shutil.rmtree(tmp_path / "capture")
    again = writer.write("ep", b'{"inputs": "b"}', "application/json", b"[]", "application/json")
    assert again == first and len(again.read_text(encoding="utf-8").splitlines()) == 1
