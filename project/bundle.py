"""The code bundle: which files the jobs run, its content hash, its S3 keys, its training tarball.

Content-addressed so that step caching works: the same code gives the same hash, the same S3 prefix
`s3://<bucket>/<prefix>/code/<sha12>/` and so the same step arguments; changed code gives a new prefix
and the steps that run it recompute. Pure functions (no SDK, no AWS) except `upload_bundle`, which takes
a boto3 S3 client: the local runner imports this module to map code URIs back to files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_FILES = ("conf/characters.yaml", "conf/themes.yaml")
CODE_FOLDER = "containers"
SOURCEDIR_TARBALL = "sourcedir.tar.gz"
HASH_LENGTH = 12
# Never part of the bundle: caches and editor or OS droppings change without the code changing.
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
EXCLUDED_NAMES = {".DS_Store"}
TAR_MTIME = 0  # fixed metadata: the same files always give the same tarball bytes


# Image recipes are not code the jobs run: changing one must not invalidate cached steps.
EXCLUDED_FOLDERS = ("containers/docker/",)


def _included(relative: Path) -> bool:
    if relative.as_posix().startswith(EXCLUDED_FOLDERS):
        return False
    if any(part in EXCLUDED_PARTS for part in relative.parts):
        return False
    return relative.name not in EXCLUDED_NAMES and not relative.name.endswith(EXCLUDED_SUFFIXES)


def bundle_files(root: Path = REPO_ROOT) -> list[str]:
    """Sorted POSIX paths, relative to `root`, of every file in the bundle."""
    code = root / CODE_FOLDER
    if not code.is_dir():
        raise FileNotFoundError(
            f"{code} is missing: run from the repository root (the bundle is {CODE_FOLDER}/)"
        )
    found = {
        path.relative_to(root).as_posix()
        for path in code.rglob("*")
        if path.is_file() and _included(path.relative_to(root))
    }
    for name in CONF_FILES:
        if not (root / name).is_file():
            raise FileNotFoundError(f"{root / name} is missing: the jobs read it from the code bundle")
        found.add(name)
    return sorted(found)


def hash_files(root: Path, files: Iterable[str]) -> str:
    """SHA-256 over each file's relative path and bytes, in the given order (length-prefixed, unambiguous)."""
    digest = hashlib.sha256()
    for name in files:
        data = (root / name).read_bytes()
        encoded = name.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def bundle_hash(root: Path = REPO_ROOT) -> str:
    """The bundle's short content hash (first 12 hex digits of the SHA-256), e.g. '3f9a0c1b2d4e'."""
    return hash_files(root, bundle_files(root))[:HASH_LENGTH]


def code_prefix(bucket: str, prefix: str, sha12: str) -> str:
    """`s3://<bucket>/<prefix>/code/<sha12>/`: where the bundle's files live (with a trailing slash)."""
    key = "/".join(part.strip("/") for part in (prefix, "code", sha12) if part.strip("/"))
    return f"s3://{bucket}/{key}/"


def sourcedir_uri(bucket: str, prefix: str, sha12: str) -> str:
    """The training tarball's URI, for the `sagemaker_submit_directory` hyperparameter."""
    return code_prefix(bucket, prefix, sha12) + SOURCEDIR_TARBALL


def parse_code_uri(uri: str) -> tuple[str, str]:
    """Split a code URI into (sha12, path inside the bundle); '' for the bundle's root.

    The local runner uses this to map `s3://.../code/<sha12>/containers/x.py` back to the working tree.
    """
    marker = "/code/"
    if not uri.startswith("s3://") or marker not in uri:
        raise ValueError(f"{uri!r} is not a code bundle URI (s3://<bucket>/<prefix>/code/<sha12>/...)")
    rest = uri.rsplit(marker, 1)[1]
    sha12, _, inner = rest.partition("/")
    if len(sha12) != HASH_LENGTH or any(c not in "0123456789abcdef" for c in sha12):
        raise ValueError(f"{uri!r}: {sha12!r} is not a {HASH_LENGTH}-digit bundle hash")
    return sha12, inner


def sourcedir_tarball(root: Path = REPO_ROOT, files: list[str] | None = None) -> bytes:
    """The bundle as a gzipped tarball with fixed metadata: identical files give identical bytes."""
    names = files if files is not None else bundle_files(root)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(names):
            data = (root / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = TAR_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    # mtime=0 and no file name in the gzip header: otherwise each build would differ.
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _key_of(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def upload_bundle(s3_client: Any, bucket: str, prefix: str, root: Path = REPO_ROOT) -> str:
    """Upload the bundle's files and sourcedir.tar.gz under its content-addressed prefix; returns the prefix.

    Content addressing makes this idempotent: a prefix that already holds the tarball is left as it is.
    """
    files = bundle_files(root)
    sha12 = hash_files(root, files)[:HASH_LENGTH]
    target = code_prefix(bucket, prefix, sha12)
    target_bucket, key_prefix = _key_of(target)
    tar_key = key_prefix + SOURCEDIR_TARBALL
    listed = s3_client.list_objects_v2(Bucket=target_bucket, Prefix=tar_key, MaxKeys=1)
    if listed.get("KeyCount", 0):
        return target
    for name in files:
        s3_client.put_object(Bucket=target_bucket, Key=key_prefix + name, Body=(root / name).read_bytes())
    # The tarball goes last: its presence marks a complete upload.
    s3_client.put_object(Bucket=target_bucket, Key=tar_key, Body=sourcedir_tarball(root, files))
    return target
