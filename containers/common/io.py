"""Small I/O helpers every container script uses: JSON Lines, JSON, logging, tarred model folders."""

from __future__ import annotations

import json
import logging
import sys
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    """Configure logging once, in each script's entry point (never in library code)."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stdout, force=True)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield one object a line; a malformed line raises ValueError naming the file and line."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc


def read_jsonl_dir(folder: Path, pattern: str = "*.jsonl") -> list[dict[str, Any]]:
    """Read every JSON Lines file in a folder (sorted by name): shards written by several instances."""
    files = sorted(folder.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no {pattern} files in {folder}")
    return [row for file in files for row in read_jsonl(file)]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON Lines (UTF-8, no ASCII escaping); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def resolve_model_dir(path: Path, scratch: Path) -> Path:
    """A model folder, or a folder holding model.tar.gz (as SageMaker mounts it), or the tarball itself.

    Tarballs are extracted into `scratch` with the safe 'data' filter.
    """
    tarball = path if path.is_file() else path / "model.tar.gz"
    if not tarball.is_file():
        return path
    scratch.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        archive.extractall(scratch, filter="data")
    return scratch
