"""Small I/O helpers every container script uses: JSON Lines, JSON, logging, tarred model folders."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from containers.common.errors import InputDataError, MissingInputError
from containers.common.job_inputs import user_path

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    """Configure logging once, in each script's entry point (never in library code)."""
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stdout, force=True)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield one object a line; a line that is not a UTF-8 JSON object is an InputDataError naming it."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except json.JSONDecodeError as exc:
                raise InputDataError(f"{user_path(path)}:{number}: not valid JSON: {exc.msg}") from exc
            except UnicodeDecodeError as exc:
                raise InputDataError(f"{user_path(path)}:{number}: not UTF-8 ({exc.reason})") from exc
            except RecursionError as exc:
                raise InputDataError(f"{user_path(path)}:{number}: JSON nested too deeply") from exc
            if not isinstance(item, dict):
                raise InputDataError(
                    f"{user_path(path)}:{number}: expected a JSON object, found {type(item).__name__}"
                )
            yield item


def read_jsonl_dir(folder: Path, pattern: str = "*.jsonl") -> list[dict[str, Any]]:
    """Read every JSON Lines file in a folder (sorted by name): shards written by several instances."""
    files = sorted(folder.glob(pattern))
    if not files:
        raise MissingInputError(f"no {pattern} files in {user_path(folder)}")
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

    Tarballs are extracted into `scratch` with the safe 'data' filter. A tarball that is refused (a
    member leaving the folder, a link outside it, a device) or broken is an InputDataError naming it,
    and `scratch` is removed: a refused archive leaves nothing half-extracted behind.
    """
    tarball = path if path.is_file() else path / "model.tar.gz"
    if not tarball.is_file():
        return path
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            archive.extractall(scratch, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:  # FilterError is a TarError; gzip errors are OSError
        shutil.rmtree(scratch, ignore_errors=True)
        raise InputDataError(f"{tarball}: model archive refused or unreadable: {exc}") from exc
    return scratch
