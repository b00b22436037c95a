"""Where a local run keeps what SageMaker keeps in S3 and in the job containers.

- `s3://bucket/key` lives at `<run>/s3/bucket/key` (one folder per run, so runs never mix).
- A URI with no scheme (or `file://`) is a folder on this machine: how `make run-local DATA=DIR` feeds
  the user's data in through the InputDataUri parameter.
- `/opt/ml/...` inside a job is `<run>/steps/<Step>/opt_ml/...`.

Copies follow S3 semantics: a prefix downloads everything under it, keeping relative paths; a single
object lands in the target folder under its own name. Digests identify content for the step cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

OPT_ML = "/opt/ml"
_OPT_ML_IN_TEXT = re.compile(r"(?<![\w/.])/opt/ml(?=/|$|\s|=)")


class StorageError(ValueError):
    """A URI or path cannot be mapped, or names nothing."""


class RunStorage:
    """Maps URIs and container paths of one run onto folders under `run_dir`."""

    def __init__(self, run_dir: Path, base_dir: Path) -> None:
        self.run_dir = run_dir
        self.base_dir = base_dir  # relative local URIs (data/sample) are read from here
        self.s3_root = run_dir / "s3"

    def local_path(self, uri: str) -> Path:
        """The file or folder that stands for `uri` in this run."""
        parsed = urlparse(uri)
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise StorageError(f"{uri!r} has no bucket")
            key = parsed.path.lstrip("/")
            target = (self.s3_root / parsed.netloc / key).resolve()
            if not target.is_relative_to(self.s3_root.resolve()):
                raise StorageError(f"{uri!r} escapes the run's S3 folder")
            return target
        if parsed.scheme == "file":
            return Path(parsed.path)
        if parsed.scheme:
            raise StorageError(f"{uri!r}: only s3://, file:// and local paths can be mapped locally")
        path = Path(uri).expanduser()
        return path if path.is_absolute() else (self.base_dir / path)

    def step_dir(self, step: str) -> Path:
        return self.run_dir / "steps" / step

    def container_path(self, step: str, path: str) -> Path:
        """Map an absolute container path under /opt/ml to this step's folder."""
        if path != OPT_ML and not path.startswith(OPT_ML + "/"):
            raise StorageError(f"step {step}: container path {path!r} is not under {OPT_ML}")
        return self.step_dir(step) / "opt_ml" / path[len(OPT_ML) :].lstrip("/")

    def map_text(self, step: str, text: str) -> str:
        """Rewrite every /opt/ml path inside a command-line argument (also `--x=/opt/ml/...`)."""
        root = str(self.step_dir(step) / "opt_ml")
        return _OPT_ML_IN_TEXT.sub(lambda _m: root, text)


def fresh_dir(path: Path) -> Path:
    """An empty folder at `path` (whatever was there is removed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def copy_into(source: Path, target_dir: Path, link: bool = False, keep_symlinks: bool = False) -> int:
    """Copy a file or a folder's contents into `target_dir`; returns the number of files.

    `link=True` hard-links where the file system allows it: used between the run folders and the
    cache, whose files are never modified in place. Job inputs are real copies, so a script that
    edits its input cannot change a cached result. `keep_symlinks=True` recreates each symbolic link
    below `source` as the same link, never followed (the user's data: a link that leaves the folder,
    or a loop, reaches the job as what it is, and the job lists it instead of reading through it).
    """
    if not source.exists():
        raise StorageError(f"nothing at {source}")
    target_dir.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        _copy_file(source, target_dir / source.name, link)
        return 1
    count = 0
    for file in sorted(source.rglob("*")):
        destination = target_dir / file.relative_to(source)
        if keep_symlinks and file.is_symlink():
            destination.parent.mkdir(parents=True, exist_ok=True)
            if destination.exists() or destination.is_symlink():
                destination.unlink()
            destination.symlink_to(os.readlink(file))
            count += 1
        elif file.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            _copy_file(file, destination, link)
            count += 1
    return count


def _copy_file(source: Path, destination: Path, link: bool) -> None:
    if destination.exists() or destination.is_symlink():
        destination.unlink()  # never write through an existing hard link
    if link:
        try:
            os.link(source, destination)
            return
        except OSError:
            pass  # another file system, or links not allowed: fall back to a copy
    shutil.copy2(source, destination)


class Digests:
    """Content digests of files and folders, remembered by (path, size, mtime) within one process."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, int, int], str] = {}

    def file(self, path: Path) -> str:
        stat = path.stat()
        memo = (str(path), stat.st_size, stat.st_mtime_ns)
        if memo not in self._files:
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            self._files[memo] = digest.hexdigest()
        return self._files[memo]

    def tree(self, path: Path) -> str:
        """A digest of a file, or of a folder's relative paths and contents; 'missing' when absent."""
        if path.is_file():
            return self.file(path)
        if not path.is_dir():
            return "missing"
        digest = hashlib.sha256()
        for file in sorted(p for p in path.rglob("*") if p.is_symlink() or p.is_file()):
            # Names as the file system's bytes (a name need not be UTF-8); a link by its target text,
            # as copy_into(keep_symlinks=True) hands it to the job (loops and dangling links too).
            name = os.fsencode(file.relative_to(path).as_posix())
            content = f"link:{os.readlink(file)}" if file.is_symlink() else self.file(file)
            digest.update(name + b"\0" + os.fsencode(content) + b"\n")
        return digest.hexdigest()
