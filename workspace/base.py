"""The interface both workspaces provide, and what they share (names, review, the backend choice)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conf.schema import Config
from model_registry.backend import Backend, RegistryBackend
from model_registry.naming import endpoint_name, pipeline_name
from model_registry.review import ReviewResult, review

STUDIO_METADATA = Path("/opt/ml/metadata/resource-metadata.json")


def choose_backend(environ: Mapping[str, str] = os.environ, studio_metadata: Path = STUDIO_METADATA) -> str:
    """STNLP_BACKEND when set; else 'sagemaker' inside SageMaker Studio (its metadata file exists)."""
    chosen = environ.get("STNLP_BACKEND")
    if chosen:
        if chosen not in ("local", "sagemaker"):
            raise ValueError(f"STNLP_BACKEND={chosen!r}: use local or sagemaker")
        return chosen
    return "sagemaker" if studio_metadata.is_file() else "local"


def output_uri(step_properties: dict[str, Any], output: str) -> str:
    """The S3 URI of a processing step's named output (DescribeProcessingJob's shape)."""
    outputs = step_properties.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for entry in outputs:
        if entry.get("OutputName") == output:
            return str(entry["S3Output"]["S3Uri"])
    names = ", ".join(str(e.get("OutputName")) for e in outputs) or "none"
    raise KeyError(f"the step has no output {output!r} (outputs: {names})")


class Workspace(ABC):
    """The registry, the pipeline's executions and the endpoints of one environment.

    Two implementations, picked once by `workspace.open_workspace`: LocalWorkspace (run folders, the
    SQLite registry, in-process endpoints) and SageMakerWorkspace (boto3). Notebooks use only this.
    """

    def __init__(self, cfg: Config, backend: Backend) -> None:
        self.cfg = cfg
        self.backend = backend

    @property
    def registry(self) -> RegistryBackend:
        return self.backend.registry

    @property
    def pipeline_name(self) -> str:
        return pipeline_name(self.cfg.project.name, self.cfg.env)

    def endpoint_name(self, model: str) -> str:
        return endpoint_name(self.cfg.project.name, model, self.cfg.env)

    def review(
        self, group: str, version: int, status: str, note: str = "", force: bool = False
    ) -> ReviewResult:
        """Approve or reject; locally the deploy handler runs at once (see model_registry.review).
        Approving below the live version raises WorseThanLive unless `force`."""
        return review(self.backend, self.cfg, group, version, status, note, force=force)

    # ---- executions ---------------------------------------------------------------------------

    @abstractmethod
    def start_execution(self, parameters: Mapping[str, str] | None = None) -> str:
        """Start the pipeline with `parameters`; returns the execution's id (run folder name or ARN)."""

    @abstractmethod
    def latest_execution(self) -> str:
        """The most recent execution's id."""

    @abstractmethod
    def execution_status(self, execution: str) -> str:
        """The execution's status as SageMaker names it (Executing, Succeeded, Failed...)."""

    @abstractmethod
    def execution_steps(self, execution: str) -> list[dict[str, Any]]:
        """Each step: name, status, cache (hit or -), and a message (failure reason or what it did)."""

    # ---- outputs and endpoints ----------------------------------------------------------------

    @abstractmethod
    def read_output(self, execution: str, step: str, output: str, filename: str) -> bytes:
        """One file of a processing step's named output."""

    @abstractmethod
    def invoke(self, model: str, payload: dict[str, Any]) -> Any:
        """Send one JSON request to the environment's endpoint of `model`; returns the JSON answer."""
