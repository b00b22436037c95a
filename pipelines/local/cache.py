"""The step cache: same resolved arguments + same input content -> reuse the outputs.

The key of a step is a SHA-256 over
- its name and type, and `RUNNER_CACHE_VERSION` (bumped when the way jobs are set up changes);
- its resolved Arguments, with the run's own identity masked (the execution id and start time appear
  in every output URI) and the output destinations left out (SageMaker leaves them out too: where a
  result is written does not change what it is);
- the content digest of everything the step reads: each input URI's files, the code bundle.

An entry holds what the step produced (snapshots of its output folders, hard-linked where possible)
and the properties it reported, so a hit materialises the outputs at this run's URIs and the steps
downstream cannot tell it from a fresh run. Entries are written to a temporary folder and renamed into
place, so an interrupted run never leaves half an entry behind.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines.local.storage import copy_into

RUNNER_CACHE_VERSION = 1


DESTINATION = "<destination>"


def without_destinations(args: dict[str, Any], destinations: Sequence[str]) -> dict[str, Any]:
    """A copy of `args` with the value at each destination path replaced by a placeholder.

    A path is dotted keys; `Key[*]` steps into every item of the list under Key:
    "ProcessingOutputConfig.Outputs[*].S3Output.S3Uri". A path that names nothing is left alone.
    """
    stripped = copy.deepcopy(args)
    for path in destinations:
        _replace(stripped, path.split("."))
    return stripped


def _replace(value: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not isinstance(value, dict):
        return
    if head.endswith("[*]"):
        items = value.get(head[: -len("[*]")])
        if isinstance(items, list) and rest:
            for item in items:
                _replace(item, rest)
        return
    if head not in value:
        return
    if rest:
        _replace(value[head], rest)
    else:
        value[head] = DESTINATION


def input_uris(value: Any) -> list[str]:
    """Every s3:// or file:// string in the arguments: what the step may read."""
    if isinstance(value, dict):
        return [uri for item in value.values() for uri in input_uris(item)]
    if isinstance(value, list):
        return [uri for item in value for uri in input_uris(item)]
    if isinstance(value, str) and value.startswith(("s3://", "file://")):
        return [value]
    return []


def cache_key(
    step_name: str,
    step_type: str,
    args: dict[str, Any],
    masks: dict[str, str],
    digest_of: Callable[[str], str],
    extra_inputs: Sequence[str] = (),
    destinations: Sequence[str] = (),
) -> str:
    """The step's cache key (see the module docstring); `masks` maps run-specific strings to names.

    `destinations` are the argument paths of where the step writes (its `StepKind.destinations`).
    """
    stripped = without_destinations(args, destinations)
    uris = sorted(set(input_uris(stripped)) | set(extra_inputs))
    text = json.dumps(stripped, sort_keys=True, default=str)

    def mask(value: str) -> str:
        for secret, name in masks.items():
            if secret:
                value = value.replace(secret, name)
        return value

    material = {
        "version": RUNNER_CACHE_VERSION,
        "step": step_name,
        "type": step_type,
        "arguments": mask(text),
        "inputs": {mask(uri): digest_of(uri) for uri in uris},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class StepCache:
    """Entries under `root/<key[:2]>/<key>/`: entry.json plus files/<label>/ snapshots."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, key: str) -> Path:
        return self.root / key[:2] / key

    def lookup(self, key: str, expire_after: str | None = None) -> dict[str, Any] | None:
        """The entry stored under `key`, or None when absent, incomplete, unreadable or expired.

        `expire_after` is the step's CacheConfig ExpireAfter (ISO 8601 duration such as P30D).
        """
        entry_file = self._folder(key) / "entry.json"
        if not entry_file.is_file():
            return None
        try:
            entry = json.loads(entry_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None
        for label in entry.get("files", []):
            if not (self._folder(key) / "files" / _safe(label)).exists():
                return None
        if expire_after and time.time() - float(entry.get("created", 0)) > duration_seconds(expire_after):
            return None
        return entry

    def store(self, key: str, entry: dict[str, Any], files: dict[str, Path], log: Path | None = None) -> None:
        """Save an entry with snapshots of `files` (label -> folder) and the step's log."""
        final = self._folder(key)
        staging = self.root / "tmp" / f"{key}-{uuid.uuid4().hex[:8]}"
        (staging / "files").mkdir(parents=True)
        for label, folder in files.items():
            target = staging / "files" / _safe(label)
            target.mkdir(parents=True)
            if folder.exists():
                copy_into(folder, target, link=True)
        if log is not None and log.is_file():
            shutil.copy2(log, staging / "log.txt")
        record = {**entry, "files": sorted(files), "created": time.time()}
        (staging / "entry.json").write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.replace(staging, final)
        except OSError:
            if not (final / "entry.json").is_file():
                raise
            shutil.rmtree(staging)  # another run stored the same key meanwhile: same content, keep theirs

    def restore(self, key: str, label: str, target: Path) -> int:
        """Materialise one snapshot into `target` (hard links); returns the number of files."""
        return copy_into(self._folder(key) / "files" / _safe(label), target, link=True)

    def log_file(self, key: str) -> Path:
        return self._folder(key) / "log.txt"


_DURATION = re.compile(
    r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"
)


def duration_seconds(text: str) -> float:
    """An ISO 8601 duration (P30D, PT12H, P1Y2M) in seconds; a year is 365 days, a month 30."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT"):
        raise ValueError(f"CacheConfig ExpireAfter {text!r} is not an ISO 8601 duration such as P30D or PT1H")
    years, months, weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(
        ((years * 365 + months * 30 + weeks * 7 + days) * 24 + hours) * 3600 + minutes * 60 + seconds
    )


def _safe(label: str) -> str:
    return label.replace(":", "_").replace("/", "_")
