"""Reproducible gzipped tarballs: the same files always give the same bytes.

Used for the code bundle's sourcedir.tar.gz and for the local runner's model.tar.gz / output.tar.gz.
Content-addressed things depend on it: the bundle's S3 prefix is its hash, and the step cache keys a
step on the digest of its inputs, so a retrained-but-identical model must not look new because of a
timestamp in the archive. Stdlib only, so every layer (container scripts included) can import it.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

FILE_MODE = 0o644


def tarball_bytes(members: Iterable[tuple[str, Path]]) -> bytes:
    """A .tar.gz of (name in the archive, file on disk) pairs, with fixed metadata.

    Names are sorted; every member has mtime 0, mode 0644, uid/gid 0 and no owner names; the gzip
    header has mtime 0 and no file name (otherwise each build would differ).
    """
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, path in sorted(members, key=lambda member: member[0]):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = FILE_MODE
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def folder_members(folder: Path) -> list[tuple[str, Path]]:
    """Every file under `folder`, named by its path relative to it (its contents at the archive root)."""
    if not folder.is_dir():
        return []
    return [(file.relative_to(folder).as_posix(), file) for file in folder.rglob("*") if file.is_file()]


def pack_folder(folder: Path, target: Path) -> Path:
    """Write `folder`'s contents as a reproducible tarball at `target` (as SageMaker packs /opt/ml/model).

    A missing folder gives an empty archive, as SageMaker uploads an empty model.tar.gz.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(tarball_bytes(folder_members(folder)))
    return target
