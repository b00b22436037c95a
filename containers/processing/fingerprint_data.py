"""python3 containers/processing/fingerprint_data.py --input-dir DIR --output-dir DIR [--folders A B ...]

Fingerprint the pipeline's input data: one SHA-256 over every file under the input folder (sorted
relative paths and their bytes, streamed), and one per top-level data folder (subtitles, transcripts,
locations), each with how many files and bytes it covered. Writes `<output-dir>/fingerprint.json` =
{"sha256", "files", "bytes", "folders": {"<folder>": {"sha256", "files", "bytes"}, ...}}.

Why: SageMaker caches a step by its arguments, and the input URI stays the same when files under it
change. The pipeline runs this step uncached and puts the hash of the folders each cached step reads
into that step's environment: a changed location file recomputes the steps that read locations, and
the subtitle and chatbot steps still hit the cache. A folder's hash equals the whole-tree hash of that
folder alone; a folder that is absent gets the hash of nothing (and a warning), not an error.
File names are hashed as the file system's bytes (os.fsencode): a name that is not valid UTF-8 is
hashed, not a crash (for UTF-8 names that is their UTF-8 encoding, so fingerprints do not change).
An input holding no file at all is a user error, reported in one line naming the input as the user
gave it (the InputDataUri, or run-local's --data folder), not the job's download folder.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.errors import MissingInputError, run_main
from containers.common.io import setup_logging, write_json
from containers.common.job_inputs import user_path

LOG = logging.getLogger("fingerprint_data")
CHUNK = 1 << 20  # 1 MiB reads: constant memory whatever the file size
FINGERPRINT_FILE = "fingerprint.json"
# The input layout's folders (docs/contracts.md); the pipeline's cached steps key on these by name.
DEFAULT_FOLDERS = ("subtitles", "transcripts", "locations")


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    files: int
    bytes: int
    folders: dict[str, Fingerprint] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {"sha256": self.sha256, "files": self.files, "bytes": self.bytes}
        if self.folders:
            result["folders"] = {name: part.as_dict() for name, part in self.folders.items()}
        return result


class _Digest:
    """A running SHA-256 of length-prefixed (name, size, content) records, with its counts."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.files = 0
        self.bytes = 0

    def start_file(self, name: str, size: int) -> None:
        encoded = os.fsencode(name)  # UTF-8, or the name's own bytes when it is not valid UTF-8
        self.hash.update(len(encoded).to_bytes(8, "big") + encoded + size.to_bytes(8, "big"))
        self.files += 1
        self.bytes += size

    def result(self) -> Fingerprint:
        return Fingerprint(sha256=self.hash.hexdigest(), files=self.files, bytes=self.bytes)


def list_files(root: Path) -> list[str]:
    """Sorted POSIX paths (relative to `root`) of every regular file below it, hidden ones included."""
    if not root.is_dir():
        raise MissingInputError(
            f"input folder {user_path(root)} does not exist: pass --input-dir (the data to fingerprint)"
        )
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def fingerprint(root: Path, folders: Sequence[str] = (), log_every: int = 1000) -> Fingerprint:
    """SHA-256 over each file's relative path and content, each length-prefixed (no two layouts collide),
    plus the same hash of each of `folders` alone (paths relative to the folder); each file is read once."""
    names = list_files(root)
    if not names:
        raise MissingInputError(
            f"the input data {user_path(root)} holds no files: check the InputDataUri parameter "
            "(run-local: --data), which must hold subtitles/, transcripts/ and locations/ with files"
        )
    whole = _Digest()
    parts = {folder: _Digest() for folder in folders}
    for number, name in enumerate(names, start=1):
        path = root / name
        size = path.stat().st_size
        top, _, inner = name.partition("/")
        targets = [whole]
        whole.start_file(name, size)
        if inner and top in parts:
            parts[top].start_file(inner, size)
            targets.append(parts[top])
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                for target in targets:
                    target.hash.update(chunk)
        if number % log_every == 0:
            LOG.info("hashed %d/%d files (%d bytes)", number, len(names), whole.bytes)
    for folder, part in parts.items():
        if part.files == 0:
            LOG.warning(
                "no files under %s/%s: its fingerprint is the hash of nothing (steps reading it key on that)",
                root,
                folder,
            )
    result = whole.result()
    return Fingerprint(result.sha256, result.files, result.bytes, {f: p.result() for f, p in parts.items()})


@dataclass(frozen=True)
class FingerprintArguments:
    """The script's arguments, checked before any file is read."""

    input_dir: Path
    output_dir: Path
    folders: list[str] = field(default_factory=lambda: list(DEFAULT_FOLDERS))

    def __post_init__(self) -> None:
        bad = [name for name in self.folders if name.strip("/") in ("", ".", "..")]
        if bad:
            raise ValueError(
                f"--folders {bad}: name top-level folders of the input, e.g. {DEFAULT_FOLDERS[0]}"
            )


def parse_args(argv: Sequence[str] | None = None) -> FingerprintArguments:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, default, text in (
        ("input-dir", "/opt/ml/processing/input/data", "folder to fingerprint (the whole input URI)"),
        ("output-dir", "/opt/ml/processing/output/fingerprint", f"where {FINGERPRINT_FILE} is written"),
    ):
        parser.add_argument(
            f"--{flag}",
            f"--{flag.replace('-', '_')}",
            dest=flag.replace("-", "_"),
            type=Path,
            default=Path(default),
            help=f"{text} (default: {default})",
        )
    parser.add_argument(
        "--folders",
        nargs="*",
        default=list(DEFAULT_FOLDERS),
        help=f"top-level folders hashed one by one as well (default: {' '.join(DEFAULT_FOLDERS)})",
    )
    return FingerprintArguments(**vars(parser.parse_args(argv)))


def main(args: FingerprintArguments) -> Fingerprint:
    result = fingerprint(args.input_dir, args.folders)
    path = write_json(args.output_dir / FINGERPRINT_FILE, result.as_dict())
    LOG.info("%d files, %d bytes: sha256 %s -> %s", result.files, result.bytes, result.sha256, path)
    for name, part in result.folders.items():
        LOG.info("  %s: %d files, %d bytes: sha256 %s", name, part.files, part.bytes, part.sha256)
    return result


if __name__ == "__main__":
    setup_logging()
    run_main(main, parse_args, LOG)
