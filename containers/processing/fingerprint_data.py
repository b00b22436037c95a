"""python3 containers/processing/fingerprint_data.py --input-dir DIR --output-dir DIR

Fingerprint the pipeline's input data: one SHA-256 over every file under the input folder (sorted
relative paths and their bytes, streamed), plus how many files and bytes it covered. Writes
`<output-dir>/fingerprint.json` = {"sha256", "files", "bytes"}.

Why: SageMaker caches a step by its arguments, and the input URI stays the same when files under it
change. The pipeline runs this step uncached and puts the sha256 into every cached step's environment,
so changed data recomputes and unchanged data hits the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from containers.common.io import setup_logging, write_json

LOG = logging.getLogger("fingerprint_data")
CHUNK = 1 << 20  # 1 MiB reads: constant memory whatever the file size
FINGERPRINT_FILE = "fingerprint.json"


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    files: int
    bytes: int

    def as_dict(self) -> dict[str, str | int]:
        return {"sha256": self.sha256, "files": self.files, "bytes": self.bytes}


def list_files(root: Path) -> list[str]:
    """Sorted POSIX paths (relative to `root`) of every regular file below it, hidden ones included."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"input folder {root} does not exist: pass --input-dir (the data to fingerprint)"
        )
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def fingerprint(root: Path, log_every: int = 1000) -> Fingerprint:
    """SHA-256 over each file's relative path and content, each length-prefixed (no two layouts collide)."""
    names = list_files(root)
    if not names:
        raise ValueError(f"input folder {root} holds no files: check the InputDataUri parameter")
    digest = hashlib.sha256()
    total = 0
    for number, name in enumerate(names, start=1):
        path = root / name
        encoded = name.encode("utf-8")
        size = path.stat().st_size
        digest.update(len(encoded).to_bytes(8, "big") + encoded + size.to_bytes(8, "big"))
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        total += size
        if number % log_every == 0:
            LOG.info("hashed %d/%d files (%d bytes)", number, len(names), total)
    return Fingerprint(sha256=digest.hexdigest(), files=len(names), bytes=total)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
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
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> Fingerprint:
    result = fingerprint(args.input_dir)
    path = write_json(args.output_dir / FINGERPRINT_FILE, result.as_dict())
    LOG.info("%d files, %d bytes: sha256 %s -> %s", result.files, result.bytes, result.sha256, path)
    return result


if __name__ == "__main__":
    setup_logging()
    main(parse_args())
