"""Approve or reject a version; with the local backend, also run the deploy handler on the event.

On SageMaker the status change itself emits the event the deployed Lambda acts on; locally there is no
EventBridge, so the same handler logic runs here, against the local endpoints (`Backend.after_review`).

Approving a version that scores below the live one (the version its endpoint serves, else the latest
approved) on any figure its quality gate reads (conf `<model>.gate`) raises `WorseThanLive`, naming
each difference, unless `force=True`: the CLI asks (or takes --force), the web app asks, then forces.
"""

from __future__ import annotations

from dataclasses import dataclass

from conf.schema import Config
from containers.evaluation.report import spec
from model_registry.backend import Backend
from model_registry.deploy_logic import Decision
from model_registry.settings import endpoint_targets, model_of
from model_registry.types import ApprovalStatus, ModelVersion

SAGEMAKER_NOTE = "SageMaker emits the state-change event; the deploy handler (make deploy-infra) acts on it"


@dataclass(frozen=True)
class ReviewResult:
    version: ModelVersion
    decision: Decision | None  # None on SageMaker: the Lambda decides, asynchronously

    def summary(self) -> str:
        head = f"{self.version.group} v{self.version.version} -> {self.version.status}"
        tail = SAGEMAKER_NOTE if self.decision is None else f"{self.decision.action}: {self.decision.reason}"
        return f"{head}\n{tail}"


@dataclass(frozen=True)
class Shortfall:
    """One metric on which a candidate scores below the live version."""

    metric: str
    candidate: float
    live: float

    @property
    def difference(self) -> float:
        return self.candidate - self.live

    def text(self) -> str:
        return f"{self.metric} {self.candidate:.4g} vs {self.live:.4g} ({self.difference:+.4g})"


class WorseThanLive(ValueError):
    """Approving would replace a better live version; pass force to approve anyway."""

    def __init__(self, candidate: ModelVersion, live: ModelVersion, shortfalls: list[Shortfall]) -> None:
        self.candidate, self.live, self.shortfalls = candidate, live, shortfalls
        detail = "; ".join(s.text() for s in shortfalls)
        super().__init__(
            f"{candidate.group} v{candidate.version} scores below the live v{live.version}: {detail}. "
            "Approve anyway with --force (the app asks you to confirm)"
        )


def live_version(backend: Backend, cfg: Config, group: str) -> ModelVersion | None:
    """The version the group's endpoint serves, else its latest approved one (what the handler deploys)."""
    target = endpoint_targets(cfg).get(group)
    if target is not None:
        try:
            arn = backend.deployer.live_package_arn(target.endpoint_name)
        except RuntimeError:  # endpoint busy or failed: fall back to the registry's view
            arn = None
        if arn:
            for found in backend.registry.list_versions(group, status=ApprovalStatus.APPROVED):
                if found.arn == arn:
                    return found
    return backend.registry.latest_approved(group)


def shortfalls(cfg: Config, candidate: ModelVersion, live: ModelVersion) -> list[Shortfall]:
    """The gate's figures on which `candidate` is worse than `live` (direction from the report schema).

    The gate's figures, not every number of the report: a lower base-model score or fewer distinct
    references says nothing against the candidate."""
    try:
        model = model_of(cfg, candidate.group)
        names, higher = tuple(getattr(cfg, model).gate), spec(model).higher_is_better
    except ValueError:  # not one of the project's groups: compare what both carry, higher is better
        names, higher = tuple(sorted(set(candidate.metrics) & set(live.metrics))), True
    worse = []
    for name in names:
        if name in candidate.metrics and name in live.metrics:
            a, b = candidate.metrics[name], live.metrics[name]
            if (a < b) if higher else (a > b):
                worse.append(Shortfall(name, a, b))
    return worse


def check_against_live(backend: Backend, cfg: Config, group: str, version: int) -> ModelVersion | None:
    """Raise WorseThanLive when `version` scores below the live version; returns the live one (or None)."""
    candidate = backend.registry.get(group, version)
    live = live_version(backend, cfg, group)
    if live is None or live.version == candidate.version:
        return live
    worse = shortfalls(cfg, candidate, live)
    if worse:
        raise WorseThanLive(candidate, live, worse)
    return live


def review(
    backend: Backend,
    cfg: Config,
    group: str,
    version: int,
    status: str,
    note: str = "",
    force: bool = False,
) -> ReviewResult:
    """Set the status, then what the backend does next (locally: deploy or roll back, which may raise
    NothingToRollBackTo), both under the backend's review lock: locally, a concurrent review of the same
    group waits, so the endpoint always ends on the version the registry says is live. Approving a version
    worse than the live one raises WorseThanLive unless `force` (checked under the lock too)."""
    with backend.review_lock():
        if status == ApprovalStatus.APPROVED and not force:
            check_against_live(backend, cfg, group, version)
        changed = backend.registry.set_status(group, version, status, note=note)
        return ReviewResult(changed, backend.after_review(cfg, changed))
