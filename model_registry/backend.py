"""The one registry interface both backends provide, and the place that picks a backend.

registry = open_registry("local", cfg)            # SQLite at .local/registry.db
registry = open_registry("sagemaker", cfg)        # the SageMaker Model Registry via boto3
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from model_registry.types import ModelVersion

BACKENDS = ("local", "sagemaker")


@runtime_checkable
class RegistryBackend(Protocol):
    """List, show and review model versions; the CLI, the notebooks and the deploy handler use only this."""

    def list_groups(self) -> list[str]: ...

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]: ...

    def get(self, group: str, version: int) -> ModelVersion: ...

    def set_status(self, group: str, version: int, status: str, note: str = "") -> ModelVersion: ...

    def latest_approved(self, group: str) -> ModelVersion | None: ...


def open_registry(
    backend: str, region: str | None = None, db_path: Path | str | None = None
) -> RegistryBackend:
    """The registry for `backend`: 'local' (SQLite at `db_path`) or 'sagemaker' (boto3 in `region`)."""
    if backend == "local":
        from model_registry.local import DEFAULT_DB, LocalRegistry

        return LocalRegistry(Path(db_path) if db_path is not None else DEFAULT_DB)
    if backend == "sagemaker":
        import boto3

        from model_registry.sagemaker_backend import SageMakerRegistry

        session = boto3.session.Session(region_name=region)
        return SageMakerRegistry(session.client("sagemaker"), session.client("s3"))
    raise ValueError(f"unknown registry backend {backend!r}; use one of {', '.join(BACKENDS)}")
