"""SageMaker data capture: its format defined once, read by the monitoring job, written by serve-local.

One JSON object a line, as SageMaker's real-time endpoint data capture writes it (AWS docs, "Capture data
from real-time endpoint" and Model Monitor's "Container Contract Inputs"):

    {"captureData": {"endpointInput":  {"observedContentType": "application/json", "mode": "INPUT",
                                         "data": "{\\"inputs\\": \\"...\\"}", "encoding": "JSON"},
                     "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                         "data": "...", "encoding": "JSON"}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-11-30T03:12:45Z"},
     "eventVersion": "0"}

Files lie under `<destination>/<endpoint>/<variant>/YYYY/MM/DD/HH/<name>.jsonl` (UTC hour of the
inference). `encoding` is JSON when the content type is one of the capture config's JsonContentTypes
(the endpoint configs list application/json), CSV for CsvContentTypes, BASE64 otherwise.

Stdlib only: the local server imports the writer, the monitoring job the reader.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)

EVENT_VERSION = "0"
ENCODINGS = ("JSON", "CSV", "BASE64")
JSON_CONTENT_TYPES = ("application/json",)
CSV_CONTENT_TYPES = ("text/csv",)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class CaptureFormatError(ValueError):
    """A capture line that is not in SageMaker's captureData form; the message names file and line."""


@dataclass(frozen=True)
class CapturedEvent:
    """One invocation: decoded request and response bodies (parsed JSON where the encoding says JSON)."""

    event_id: str
    inference_time: datetime
    request: Any
    response: Any
    source: str  # file:line, for messages


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def encode_payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    """One captureData entry for a body: JSON / CSV as text when they decode as UTF-8, else BASE64."""
    media = _media_type(content_type)
    encoding = "BASE64"
    data = base64.b64encode(body).decode("ascii")
    if media in JSON_CONTENT_TYPES + CSV_CONTENT_TYPES:
        try:
            text = body.decode("utf-8")
            if media in JSON_CONTENT_TYPES:
                json.loads(text)
            encoding, data = ("JSON" if media in JSON_CONTENT_TYPES else "CSV"), text
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass  # a body that does not parse as its type is kept byte for byte, as SageMaker does
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_record(
    request: bytes,
    request_type: str,
    response: bytes,
    response_type: str,
    when: datetime,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The capture line for one invocation."""
    return {
        "captureData": {
            "endpointInput": encode_payload(request, request_type, "INPUT"),
            "endpointOutput": encode_payload(response, response_type, "OUTPUT"),
        },
        "eventMetadata": {
            "eventId": event_id or str(uuid.uuid4()),
            "inferenceTime": when.astimezone(UTC).strftime(TIME_FORMAT),
        },
        "eventVersion": EVENT_VERSION,
    }


def hour_folder(root: Path, endpoint: str, variant: str, when: datetime) -> Path:
    """`<root>/<endpoint>/<variant>/YYYY/MM/DD/HH` for the UTC hour of `when`."""
    utc = when.astimezone(UTC)
    return root / endpoint / variant / f"{utc:%Y}" / f"{utc:%m}" / f"{utc:%d}" / f"{utc:%H}"


class CaptureWriter:
    """Appends capture lines in SageMaker's layout; one file per endpoint, variant, hour and writer.

    Thread-safe (the local server is threaded). Each line is flushed, so a reader sees whole lines.
    """

    def __init__(
        self,
        root: Path,
        variant: str = "AllTraffic",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.root = Path(root)
        self.variant = variant
        self.clock = clock
        self._writer_id = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._files: dict[Path, Path] = {}  # hour folder -> this writer's file in it

    def write(
        self,
        endpoint: str,
        request: bytes,
        request_type: str,
        response: bytes,
        response_type: str,
        variant: str | None = None,
    ) -> Path:
        """Record one invocation answered by `variant` (default: the writer's); returns its file."""
        when = self.clock()
        line = json.dumps(capture_record(request, request_type, response, response_type, when))
        folder = hour_folder(self.root, endpoint, variant or self.variant, when)
        with self._lock:
            # One file per writer and hour, named (like SageMaker's) by the minute and second it began.
            target = self._files.get(folder)
            if target is None:
                target = folder / f"{when.astimezone(UTC):%M-%S}-{self._writer_id}.jsonl"
                self._files[folder] = target
            # Every time: a person may clear old capture while the server runs (it did, in a demo:
            # each request then failed with a 500).
            folder.mkdir(parents=True, exist_ok=True)
            with target.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return target


def _hour_of(path: Path, root: Path) -> datetime | None:
    """The UTC hour a capture file's folder names (`.../YYYY/MM/DD/HH/file`), or None."""
    parts = path.relative_to(root).parts
    if len(parts) < 5:
        return None
    try:
        year, month, day, hour = (int(p) for p in parts[-5:-1])
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return None


def capture_files(root: Path, start: datetime | None = None, end: datetime | None = None) -> list[Path]:
    """Capture files under `root` whose hour folder overlaps [start, end); all of them when unbounded.

    `root` may be the destination, an endpoint's folder or a variant's folder (SageMaker's dataset_source
    holds `<endpoint>/<variant>/yyyy/mm/dd/hh`), or the copy of a drift run's manifest, which lists the
    window's files only (model_registry/drift_run.py). A `.jsonl` whose folders name no hour is read
    too: how a ManifestFile input lays its files out below LocalPath is not documented, and
    `read_events` keeps only the window's events whatever file they are in.
    """
    files = []
    for path in sorted(Path(root).rglob("*.jsonl")):
        hour = _hour_of(path, Path(root))
        if hour is None:
            files.append(path)
            continue
        if start is not None and hour + timedelta(hours=1) <= start:
            continue
        if end is not None and hour >= end:
            continue
        files.append(path)
    return files


def decode_payload(entry: dict[str, Any], where: str) -> Any:
    """An endpointInput/endpointOutput entry's body: parsed JSON, CSV text, or bytes (BASE64, not JSON)."""
    encoding = entry.get("encoding")
    data = entry.get("data")
    if encoding not in ENCODINGS or not isinstance(data, str):
        raise CaptureFormatError(f"{where}: encoding must be one of {ENCODINGS} with string data")
    if encoding == "BASE64":
        raw = base64.b64decode(data)
        if _media_type(entry.get("observedContentType")) in JSON_CONTENT_TYPES:
            try:
                return json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                return raw
        return raw
    if encoding == "CSV":
        return data
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise CaptureFormatError(f"{where}: encoding JSON but data is not JSON ({exc.msg})") from None


def parse_line(line: str, where: str) -> CapturedEvent:
    """One capture line to a CapturedEvent; anything else raises CaptureFormatError naming `where`."""
    try:
        record = json.loads(line)
        capture = record["captureData"]
        metadata = record["eventMetadata"]
        when = datetime.strptime(metadata["inferenceTime"], TIME_FORMAT).replace(tzinfo=UTC)
        request = decode_payload(capture["endpointInput"], where)
        response = decode_payload(capture["endpointOutput"], where)
        return CapturedEvent(str(metadata["eventId"]), when, request, response, where)
    except CaptureFormatError:
        raise
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CaptureFormatError(
            f"{where}: not a SageMaker capture line (needs captureData.endpointInput/endpointOutput and "
            f"eventMetadata.eventId/inferenceTime): {exc!r}"
        ) from None


def read_events(
    files: Iterable[Path], start: datetime | None = None, end: datetime | None = None
) -> tuple[list[CapturedEvent], list[str]]:
    """Events whose inferenceTime is in [start, end), in time order, plus one message per bad line.

    A bad line does not stop the job (one corrupt line must not hide a window's drift); the job reports
    how many it skipped and fails the completeness check when they are too many.
    """
    events: list[CapturedEvent] = []
    errors: list[str] = []
    for path in files:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    event = parse_line(line, f"{path}:{number}")
                except CaptureFormatError as exc:
                    errors.append(str(exc))
                    continue
                if (start is None or event.inference_time >= start) and (
                    end is None or event.inference_time < end
                ):
                    events.append(event)
    events.sort(key=lambda e: (e.inference_time, e.event_id))
    return events, errors
