"""Approve or reject a version; with the local backend, also run the deploy handler on the event.

On SageMaker the status change itself emits the event the deployed Lambda acts on; locally there is no
EventBridge, so the same handler logic runs here, against the local endpoints (`Backend.after_review`).
"""

from __future__ import annotations

from dataclasses import dataclass

from conf.schema import Config
from model_registry.backend import Backend
from model_registry.deploy_logic import Decision
from model_registry.types import ModelVersion

SAGEMAKER_NOTE = "SageMaker emits the state-change event; the deploy handler (make deploy-infra) acts on it"


@dataclass(frozen=True)
class ReviewResult:
    version: ModelVersion
    decision: Decision | None  # None on SageMaker: the Lambda decides, asynchronously

    def summary(self) -> str:
        head = f"{self.version.group} v{self.version.version} -> {self.version.status}"
        tail = SAGEMAKER_NOTE if self.decision is None else f"{self.decision.action}: {self.decision.reason}"
        return f"{head}\n{tail}"


def review(
    backend: Backend, cfg: Config, group: str, version: int, status: str, note: str = ""
) -> ReviewResult:
    """Set the status, then what the backend does next (locally: deploy or roll back, which may raise
    NothingToRollBackTo), both under the backend's review lock: locally, a concurrent review of the same
    group waits, so the endpoint always ends on the version the registry says is live."""
    with backend.review_lock():
        changed = backend.registry.set_status(group, version, status, note=note)
        return ReviewResult(changed, backend.after_review(cfg, changed))
