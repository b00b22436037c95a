"""The code bundle: which files the jobs run, its content hash, its S3 keys, its training tarball.

Content-addressed so that step caching works: the same code gives the same hash, the same S3 prefix
`s3://<bucket>/<prefix>/code/<sha12>/` and so the same step arguments; changed code gives a new prefix
and the steps that run it recompute. Pure functions (no SDK, no AWS) except `upload_bundle`, which takes
a boto3 S3 client: the local runner imports this module to map code URIs back to files.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from containers.common.tarball import tarball_bytes

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_FILES = ("conf/characters.yaml", "conf/themes.yaml")
CODE_FOLDER = "containers"
SOURCEDIR_TARBALL = "sourcedir.tar.gz"
HASH_LENGTH = 12
# Never part of the bundle: caches and editor or OS droppings change without the code changing.
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".ipynb_checkpoints"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
EXCLUDED_NAMES = {".DS_Store"}


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
    return tarball_bytes([(name, root / name) for name in names])


def _key_of(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _upload_files(s3_client: Any, bucket: str, prefix: str, root: Path, files: list[str]) -> str:
    """Upload one bundle (`files` and their sourcedir.tar.gz) under its content-addressed prefix."""
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


def upload_bundle(s3_client: Any, bucket: str, prefix: str, root: Path = REPO_ROOT) -> str:
    """Upload the whole bundle and every step's bundle (`step_bundles`), each under its content-addressed
    prefix; returns the whole bundle's prefix.

    Content addressing makes this idempotent: a prefix that already holds its tarball is left as it is.
    """
    whole = ""
    for files in step_bundles(root).values():
        target = _upload_files(s3_client, bucket, prefix, root, files)
        whole = whole or target  # step_bundles lists the whole bundle first
    return whole


# ---- per-step code keys ---------------------------------------------------------------------------
# One hash over all of containers/ would make a typo in one processing script recompute every step, GPU
# training included. Each step therefore runs (and keys on) its own bundle: the closure of its script.


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a `containers.*` module (a module or a package's __init__.py), or None."""
    parts = dotted.split(".")
    if parts[0] != CODE_FOLDER:
        return None
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Dotted names a module imports (relative imports resolved against `module`)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            # `from containers.processing import lexicon` imports a module, not a name.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _referenced_files(tree: ast.AST, path: Path, root: Path, bundle: set[str]) -> set[str]:
    """Bundle files a module names in string literals: a conf file ('characters.yaml'), a folder or file
    beside it or under containers/ ('assets', 'inference', 'requirements.txt').

    Static and deliberately generous: a file too many only costs a cache miss, one too few would break
    the job (the local runner materialises exactly this closure, so its tests catch that)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        conf = [name for name in CONF_FILES if text == Path(name).name or text.endswith("/" + name)]
        if conf:
            found.update(conf)
            continue
        if len(text) < 3 or not all(c.isalnum() or c in "._-" for c in text) or text.startswith("."):
            continue
        for base in (path.parent, root / CODE_FOLDER):
            target = (base / text).relative_to(root).as_posix()
            if path.relative_to(root).as_posix().startswith(target + "/"):
                continue  # the module's own package ('processing' in a docstring), not data it reads
            found.update(name for name in bundle if name == target or name.startswith(target + "/"))
    return found


# The local runner computes closures from several worker threads at once, and CPython 3.11's ast.parse is
# not thread-safe there (CPython gh-106905: "SystemError: AST constructor recursion depth mismatch",
# seen in a local run): parse one file at a time.
_PARSE_LOCK = threading.Lock()


def step_files(script: str, root: Path = REPO_ROOT, bundle: Iterable[str] | None = None) -> list[str]:
    """The closure of `script` (e.g. 'containers/training/train_chatbot.py'): the script, every
    `containers` module it imports (transitively, with their packages' __init__.py), and the bundle
    files those modules name (conf files, assets, the inference folder a training job packs)."""
    files = set(bundle if bundle is not None else bundle_files(root))
    if script not in files:
        raise FileNotFoundError(
            f"{script} is not in the code bundle ({CODE_FOLDER}/): check the step's script"
        )
    chosen: set[str] = set()
    pending = [root / script]
    while pending:
        path = pending.pop()
        relative = path.relative_to(root).as_posix()
        if relative in chosen:
            continue
        chosen.add(relative)
        if path.suffix != ".py":
            continue
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        with _PARSE_LOCK:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        # Python imports every package on the way down: containers/__init__.py, containers/x/__init__.py.
        for depth in range(1, len(parts) - (1 if is_package else 0)):
            init = root.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                pending.append(init)
        for dotted in _imported_modules(tree, module, is_package):
            target = _module_file(root, dotted)
            if target is not None:
                pending.append(target)
        for name in _referenced_files(tree, path, root, files):
            pending.append(root / name)
    return sorted(chosen & files)


def step_hash(script: str, root: Path = REPO_ROOT, bundle: Iterable[str] | None = None) -> str:
    """The 12-digit content hash of `script`'s closure: its code key and S3 prefix `code/<hash>/`."""
    return hash_files(root, step_files(script, root, bundle))[:HASH_LENGTH]


def entry_scripts(root: Path = REPO_ROOT) -> list[str]:
    """The bundle's scripts that jobs run: every module under containers/ with a `__main__` guard."""
    return [
        name
        for name in bundle_files(root)
        if name.endswith(".py") and '__name__ == "__main__"' in (root / name).read_text(encoding="utf-8")
    ]


def step_bundles(root: Path = REPO_ROOT) -> dict[str, list[str]]:
    """Every per-step bundle of the tree: code hash -> files (the whole bundle included, by its hash).

    Parsing every script's closure takes about half a second, and the local runner asks once per code
    input of every step, from several threads: a 43-step rerun with every job cached spent ~1 s a step
    here. The answer is kept while no bundle file changes (same names, sizes and modification times), so
    an edit between two calls is seen, as the runner needs: jobs run the working tree's code.
    """
    bundle = bundle_files(root)
    stamp = tuple((name, *_size_and_mtime(root / name)) for name in bundle)
    with _STEP_BUNDLES_LOCK:
        cached = _STEP_BUNDLES.get(root)
        if cached is not None and cached[0] == stamp:
            return {key: list(files) for key, files in cached[1].items()}
    found = {hash_files(root, bundle)[:HASH_LENGTH]: bundle}
    for script in entry_scripts(root):
        files = step_files(script, root, bundle)
        found[hash_files(root, files)[:HASH_LENGTH]] = files
    with _STEP_BUNDLES_LOCK:
        _STEP_BUNDLES[root] = (stamp, {key: list(files) for key, files in found.items()})
    return found


def _size_and_mtime(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_size, status.st_mtime_ns


_STEP_BUNDLES: dict[Path, tuple[tuple, dict[str, list[str]]]] = {}
_STEP_BUNDLES_LOCK = threading.Lock()
