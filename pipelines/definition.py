"""Build the definition JSON offline: the bytes `make definition` writes and `upsert` sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conf import load_config
from conf.schema import Config
from project.bundle import REPO_ROOT


def build_pipeline(cfg: Config, boto_session: Any | None = None, root: Path = REPO_ROOT) -> Any:
    """The SDK Pipeline for `cfg` with the offline-safe session (or one over `boto_session`)."""
    from pipelines.session import make_session, prepare_offline_environment

    # The SDK reads the region (and creates a client) when steps/ first imports it: set it first.
    prepare_offline_environment(cfg.project.region)
    from pipelines.pipeline import get_pipeline

    session = make_session(cfg.project.region, boto_session=boto_session, default_bucket=cfg.project.bucket)
    return get_pipeline(cfg, session, root=root)


def definition_json(cfg: Config, root: Path = REPO_ROOT) -> str:
    """The pipeline definition, indented for review and diffs; identical bytes for identical inputs."""
    definition = json.loads(build_pipeline(cfg, root=root).definition())
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def write_definition(env: str | Config, out: Path | None) -> str:
    """Build the definition of `env` (a name, or its loaded Config); write it to `out` when given.
    Returns the JSON text."""
    text = definition_json(load_config(env) if isinstance(env, str) else env)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return text
