"""What the notebooks call: one API over SageMaker (in Studio) and the local backend (anywhere else).

    ws = open_workspace()                      # backend from STNLP_BACKEND, else detected
    run = ws.start_execution({"ChatbotEpochs": "1"})
    ws.execution_steps(run)                    # [{"name", "status", ...}, ...]
    ws.read_output(run, "ExtractEntities", "entities", "graph.json")
    ws.invoke("chatbot", {"messages": [{"role": "user", "content": "Where is Will?"}]})

Environment variables: STNLP_BACKEND (local | sagemaker), STNLP_ENV (config environment; default
local for the local backend, dev for SageMaker), STNLP_HOME (local runs and registry; default .local).

The top of the import order: it may use model_registry and pipelines.local (the run-folder readers);
nothing imports it but the notebooks.
"""

from __future__ import annotations

import os
from pathlib import Path

from conf import load_config
from model_registry.backend import DEFAULT_ENV
from project.bundle import REPO_ROOT
from project.defaults import LOCAL_HOME
from workspace.base import Workspace, choose_backend, output_uri
from workspace.local import LocalWorkspace
from workspace.sagemaker import SageMakerWorkspace, step_rows


def open_workspace(
    backend: str | None = None, env: str | None = None, home: Path | str | None = None
) -> Workspace:
    """The workspace of `backend` (default: choose_backend()) for `env`; the one place they are picked."""
    backend = backend or choose_backend()
    if backend not in DEFAULT_ENV:
        raise ValueError(f"unknown backend {backend!r}; use one of {', '.join(DEFAULT_ENV)}")
    cfg = load_config(env or os.environ.get("STNLP_ENV") or DEFAULT_ENV[backend])
    if backend == "sagemaker":
        return SageMakerWorkspace(cfg)
    return LocalWorkspace(cfg, Path(home or os.environ.get("STNLP_HOME") or REPO_ROOT / LOCAL_HOME))


__all__ = [
    "LocalWorkspace",
    "SageMakerWorkspace",
    "Workspace",
    "choose_backend",
    "open_workspace",
    "output_uri",
    "step_rows",
]
