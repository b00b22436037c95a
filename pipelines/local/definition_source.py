"""The definition a local run executes: built in-process with `get_pipeline` for an environment, or read.

Building imports the SageMaker SDK (about 4 s here), which alone would spend half the budget of a
cached rerun. The built JSON is therefore kept under `<home>/definitions/`, keyed by a digest of every
file that can change it (pipelines/, steps/, conf/, the code bundle) and the SDK version: the same
sources give the same definition (the build is deterministic, see docs/contracts.md), so an unchanged
tree reuses it and any edit rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from model_registry import naming
from project.bundle import REPO_ROOT, bundle_files

# Every package the definition is built from (the names come from model_registry.naming/settings).
SOURCE_FOLDERS = ("project", "pipelines", "steps", "model_registry", "conf")


def _source_files(root: Path) -> list[str]:
    found = set(bundle_files(root))
    for folder in SOURCE_FOLDERS:
        for path in (root / folder).rglob("*"):
            relative = path.relative_to(root)
            if relative.parts[:2] == ("pipelines", "local") or "__pycache__" in relative.parts:
                continue  # the runner itself does not shape the definition
            if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json"):
                found.add(relative.as_posix())
    return sorted(found)


def sources_digest(env: str, root: Path = REPO_ROOT) -> str:
    digest = hashlib.sha256(f"env={env}\nsagemaker={_sdk_version()}\n".encode())
    for name in _source_files(root):
        digest.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    return digest.hexdigest()


def _sdk_version() -> str:
    try:
        return metadata.version("sagemaker")
    except metadata.PackageNotFoundError:
        return "none"


def build_definition(env: str, home: Path, root: Path = REPO_ROOT, use_cache: bool = True) -> dict[str, Any]:
    """The definition JSON of `env`, as `python -m pipelines definition --env ENV` writes it."""
    target = home / "definitions" / f"{env}-{sources_digest(env, root)[:20]}.json"
    if use_cache and target.is_file():
        return json.loads(target.read_text(encoding="utf-8"))
    from conf import load_config
    from pipelines.definition import definition_json

    text = definition_json(load_config(env), root=root)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
    return json.loads(text)


def pipeline_name(env: str) -> str:
    """The pipeline's name for `env` (execution variables PipelineName / PipelineArn)."""
    from conf import load_config

    return naming.pipeline_name(load_config(env).project.name, env)
