"""The one registry interface, and the two backends (a registry with its deployer) picked in one place.

    backend = open_backend("local", cfg, db_path=Path(".local/registry.db"))   # SQLite + local endpoints
    backend = open_backend("sagemaker", cfg)     # the SageMaker Model Registry and endpoints via boto3
    backend.registry.list_versions(group); backend.deployer.live_package_arn(endpoint)

A backend carries what differs between the two: which groups to list, and what a review does after
the status changes (locally the deploy handler runs at once; on SageMaker the status change emits the
event the deployed Lambda acts on). Everything else (the CLI, the notebooks' workspace) is the same
code over `Backend`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from conf.schema import Config
from model_registry.deploy_logic import Decision, Deployer, handle, state_change_event
from model_registry.local import DEFAULT_DB, LocalRegistry
from model_registry.local_deploy import LocalDeployer
from model_registry.sagemaker_backend import SageMakerRegistry
from model_registry.sagemaker_deploy import SageMakerDeployer
from model_registry.settings import handler_settings, project_groups
from model_registry.types import ModelVersion
from project.defaults import LOCAL_ACCOUNT_ID, LOCAL_REGION

# Backend name -> the config environment it uses when none is named: the local runner registers
# with conf/local.yaml; SageMaker work starts in dev.
DEFAULT_ENV: dict[str, str] = {"local": "local", "sagemaker": "dev"}
BACKENDS: tuple[str, ...] = tuple(DEFAULT_ENV)


@runtime_checkable
class RegistryBackend(Protocol):
    """List, show and review model versions; the CLI, the notebooks and the deploy handler use only this."""

    def list_groups(self) -> list[str]: ...

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]: ...

    def get(self, group: str, version: int) -> ModelVersion: ...

    def set_status(self, group: str, version: int, status: str, note: str = "") -> ModelVersion: ...

    def latest_approved(self, group: str) -> ModelVersion | None: ...

    def card(self, group: str, version: int) -> dict[str, Any] | None: ...


class Backend(Protocol):
    """A registry and the deployer of its endpoints, which always come together."""

    @property
    def name(self) -> str: ...

    @property
    def registry(self) -> RegistryBackend: ...

    @property
    def deployer(self) -> Deployer: ...

    def groups(self, cfg: Config) -> list[str]:
        """The groups `list` shows when none is named."""
        ...

    def after_review(self, cfg: Config, changed: ModelVersion) -> Decision | None:
        """What follows a status change here: the handler's decision, or None when AWS decides later."""
        ...

    def review_lock(self) -> AbstractContextManager[None]:
        """Held over a status change and what follows it (see review())."""
        ...


@dataclass(frozen=True)
class LocalBackend:
    """The SQLite registry the local runner writes, and the local endpoints table it deploys to."""

    registry: LocalRegistry
    deployer: LocalDeployer
    name: str = "local"

    @classmethod
    def open(cls, db_path: Path | str = DEFAULT_DB) -> LocalBackend:
        registry = LocalRegistry(Path(db_path))
        return cls(registry, LocalDeployer(registry))

    def groups(self, cfg: Config) -> list[str]:
        # Every group the runner wrote (the demo project and tests write their own).
        return self.registry.list_groups()

    def after_review(self, cfg: Config, changed: ModelVersion) -> Decision:
        # No EventBridge locally: the handler the Lambda runs acts on the same event, here and now.
        event = state_change_event(changed, account=LOCAL_ACCOUNT_ID, region=LOCAL_REGION)
        return handle(event, handler_settings(cfg), self.registry, self.deployer)

    def review_lock(self) -> AbstractContextManager[None]:
        return self.registry.review_lock()


@dataclass(frozen=True)
class SageMakerBackend:
    """The SageMaker Model Registry and endpoints of `session`'s account and region."""

    registry: SageMakerRegistry
    deployer: SageMakerDeployer
    session: Any  # boto3.session.Session: the AWS-only commands and the notebooks reuse it
    name: str = "sagemaker"

    @classmethod
    def open(cls, cfg: Config, session: Any | None = None) -> SageMakerBackend:
        if session is None:
            import boto3  # here, not at the top: the local backend runs without AWS credentials

            session = boto3.session.Session(region_name=cfg.project.region)
        registry = SageMakerRegistry(session.client("sagemaker"), session.client("s3"))
        deployer = SageMakerDeployer(session.client("sagemaker"), handler_settings(cfg), registry)
        return cls(registry, deployer, session)

    def groups(self, cfg: Config) -> list[str]:
        # The project's own groups: an account holds others.
        return project_groups(cfg)

    def after_review(self, cfg: Config, changed: ModelVersion) -> None:
        # The status change emits the event; the Lambda of the operations stack (make deploy-infra) acts.
        return None

    def review_lock(self) -> AbstractContextManager[None]:
        # No lock spans the Registry and a Lambda: the handler's read-back (deploy_logic.handle) keeps
        # concurrent approve/reject events from leaving a rejected version live.
        return nullcontext()


def open_backend(
    name: str, cfg: Config, db_path: Path | str | None = None, session: Any | None = None
) -> LocalBackend | SageMakerBackend:
    """The backend called `name`: 'local' (SQLite at `db_path`) or 'sagemaker' (boto3 in cfg's region)."""
    if name == "local":
        return LocalBackend.open(db_path if db_path is not None else DEFAULT_DB)
    if name == "sagemaker":
        return SageMakerBackend.open(cfg, session)
    raise ValueError(f"unknown registry backend {name!r}; use one of {', '.join(BACKENDS)}")
