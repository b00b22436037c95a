"""What to do when a model version's approval status changes: the deploy handler's pure logic.

    decision = handle(event, settings, registry, deployer)

The Lambda (`model_registry.lambda_handler`) runs it with boto3 clients; the registry CLI runs it with
the local backend and local endpoints, so both deploy by the same rules:

- The endpoint of a group serves that group's latest approved version. An "Approved" event deploys the
  version when it is (still) the latest approved one; an older one is left alone (reject the newer
  version to go back).
- The event is checked against the registry, not trusted: a late or duplicated event for a version that
  has since changed status does nothing.
- Already serving that version -> nothing changes (EventBridge delivers at least once).
- Groups that are not the project's -> ignored, before any call to the endpoint.
- A "Rejected" event for the live version rolls the endpoint back to the latest approved version left;
  with none left the handler raises NothingToRollBackTo (the endpoint keeps serving until someone acts).

Stdlib only: this module travels in the Lambda bundle.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from model_registry.monitoring_schedule import MonitoringSettings
from model_registry.types import ApprovalStatus, ModelVersion

LOG = logging.getLogger(__name__)

EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Model Package State Change"
COMPLETED = "Completed"  # the only ModelPackageStatus whose approval the handler acts on

Action = Literal["ignore", "noop", "deploy", "rollback"]


def approval_rule_pattern(groups: list[str], status: str) -> dict[str, Any]:
    """The EventBridge pattern for model package state changes of `groups` whose approval status is
    `status` and whose package is Completed (an InProgress or Failed package has nothing to deploy);
    nothing else. The operations stack's rules carry it (tests/infra checks they are equal)."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {
            "ModelPackageGroupName": sorted(groups),
            "ModelApprovalStatus": [status],
            "ModelPackageStatus": [COMPLETED],
        },
    }


class NothingToRollBackTo(RuntimeError):
    """The live version was rejected and no other approved version exists."""


@dataclass(frozen=True)
class EndpointTarget:
    """Where one model group is served and how: everything the deployer needs to build the endpoint."""

    group: str
    endpoint_name: str
    instance_type: str
    initial_instance_count: int = 1
    data_capture_percentage: int = 100
    model: str = ""  # 'chatbot' / 'classifier': names its data-capture folder as the pipeline does
    # Blue/green traffic shifting of this endpoint (conf: <model>.serving.strategy / step_percent); a
    # canary or linear step needs a fleet that can hold it, which the config checks at load.
    strategy: Literal["canary", "linear", "all_at_once"] = "all_at_once"
    step_percent: int = 10
    # A serverless variant instead of instances (conf: <model>.serving.serverless; model_registry/
    # serverless.py): {"memory_size_mb", "max_concurrency", "provisioned_concurrency"}; None: instances.
    serverless: dict[str, int] | None = None


@dataclass(frozen=True)
class RolloutPolicy:
    """Blue/green traffic shifting and the alarms that roll it back."""

    strategy: Literal["canary", "linear", "all_at_once"] = "canary"
    step_percent: int = 10
    wait_interval_s: int = 300
    termination_wait_s: int = 300
    alarm_latency_ms: int = 2000
    alarm_5xx_count: int = 5


@dataclass(frozen=True)
class HandlerSettings:
    """The handler's whole configuration; travels to the Lambda as one JSON environment variable."""

    targets: dict[str, EndpointTarget]
    rollout: RolloutPolicy = field(default_factory=RolloutPolicy)
    execution_role_arn: str = ""
    data_capture_s3_uri: str = ""
    kms_key_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # The served model's network guardrails, as the jobs have them (conf security.*).
    network_isolation: bool = False
    vpc_config: dict[str, list[str]] | None = None
    # The endpoints' drift schedules (model_registry/monitoring_schedule.py); None: the handler keeps none.
    monitoring: MonitoringSettings | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HandlerSettings:
        data = json.loads(text)
        return cls(
            targets={group: EndpointTarget(**target) for group, target in data["targets"].items()},
            rollout=RolloutPolicy(**data.get("rollout", {})),
            execution_role_arn=data.get("execution_role_arn", ""),
            data_capture_s3_uri=data.get("data_capture_s3_uri", ""),
            kms_key_id=data.get("kms_key_id"),
            tags=dict(data.get("tags", {})),
            network_isolation=bool(data.get("network_isolation", False)),
            vpc_config=data.get("vpc_config"),
            monitoring=MonitoringSettings.from_dict(data["monitoring"]) if data.get("monitoring") else None,
        )


@dataclass(frozen=True)
class StatusChange:
    """The part of a "SageMaker Model Package State Change" event the handler acts on."""

    group: str
    version: int
    arn: str
    status: str


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    group: str
    endpoint_name: str | None = None
    version: int | None = None
    model_package_arn: str | None = None


class VersionSource(Protocol):
    """What the handler reads from the registry (both backends provide it)."""

    def get(self, group: str, version: int) -> ModelVersion: ...

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]: ...


class Deployer(Protocol):
    """What the handler does to endpoints: SageMaker endpoints or the local endpoint table."""

    def live_package_arn(self, endpoint_name: str) -> str | None: ...

    def deploy(self, target: EndpointTarget, version: ModelVersion) -> None: ...


def parse_event(event: dict[str, Any]) -> StatusChange:
    """Read group, version, ARN and approval status from an EventBridge model package event."""
    if event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise ValueError(f"not a {EVENT_DETAIL_TYPE!r} event: detail-type is {event.get('detail-type')!r}")
    detail = event.get("detail") or {}
    missing = [
        key
        for key in ("ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelApprovalStatus")
        if key not in detail
    ]
    if missing:
        raise ValueError(f"model package event lacks detail.{', detail.'.join(missing)}")
    return StatusChange(
        group=str(detail["ModelPackageGroupName"]),
        version=int(detail["ModelPackageVersion"]),
        arn=str(detail["ModelPackageArn"]),
        status=str(detail["ModelApprovalStatus"]),
    )


def state_change_event(version: ModelVersion, account: str = "000000000000", region: str = "local") -> dict:
    """An event shaped like the one SageMaker sends when `version` changes status (used locally)."""
    return {
        "version": "0",
        "detail-type": EVENT_DETAIL_TYPE,
        "source": EVENT_SOURCE,
        "account": account,
        "region": region,
        "resources": [version.arn],
        "detail": {
            "ModelPackageGroupName": version.group,
            "ModelPackageVersion": version.version,
            "ModelPackageArn": version.arn,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": version.status,
        },
    }


def decide(
    change: StatusChange,
    current: ModelVersion,
    approved: list[ModelVersion],
    live_arn: str | None,
    target: EndpointTarget,
) -> Decision:
    """The pure rule: given the event, the version's current record, the group's approved versions
    (any order) and what the endpoint serves now, say what should happen."""
    base = {"group": change.group, "endpoint_name": target.endpoint_name}
    if current.status != change.status:
        return Decision(
            "noop",
            f"stale event: version {change.version} is now {current.status}, not {change.status}",
            **base,
        )
    latest = max(approved, key=lambda v: v.version) if approved else None
    if change.status == ApprovalStatus.APPROVED:
        if latest is not None and latest.version > change.version:
            return Decision(
                "noop",
                f"version {latest.version} is a newer approved version; the endpoint stays on the latest",
                **base,
            )
        if live_arn == change.arn:
            return Decision("noop", f"{target.endpoint_name} already serves version {change.version}", **base)
        return Decision(
            "deploy",
            f"version {change.version} approved",
            version=change.version,
            model_package_arn=change.arn,
            **base,
        )
    if live_arn != change.arn:
        return Decision("noop", f"version {change.version} is {change.status} but not live", **base)
    if latest is None:
        raise NothingToRollBackTo(
            f"{target.endpoint_name} serves version {change.version} of {change.group}, now {change.status}, "
            "and no other version is approved: approve one to roll back, or delete the endpoint"
        )
    return Decision(
        "rollback",
        f"live version {change.version} is {change.status}; back to approved version {latest.version}",
        version=latest.version,
        model_package_arn=latest.arn,
        **base,
    )


MAX_READ_BACKS = 5  # rounds of "deploy, read the status back, act again": each needs a new review


def handle(
    event: dict[str, Any], settings: HandlerSettings, registry: VersionSource, deployer: Deployer
) -> Decision:
    """Parse the event, decide, and carry the decision out; returns what was decided.

    Read-back: the status change and the deploy are two steps, and an approve and a reject of the same
    version can be handled at once (two Lambda invocations, two CLI calls). The reject's handler may see
    the version "not live" just before the approve's deploy lands, which would leave a rejected version
    serving. So after deploying, the handler reads the deployed version's status back; when it is no
    longer Approved it acts on that status, exactly as the event of that change would (a rollback). The
    last handler to deploy therefore always leaves the endpoint on what the registry says is live.
    Locally, review() also holds one lock over the status change and this function.
    """
    change = parse_event(event)
    target = settings.targets.get(change.group)
    if target is None:
        decision = Decision("ignore", f"group {change.group!r} is not one of this project's", change.group)
        LOG.info("%s", decision.reason)
        return decision
    package_status = (event.get("detail") or {}).get("ModelPackageStatus", COMPLETED)
    if package_status != COMPLETED:
        # A package still InProgress (or Failed) has no usable artifact yet; its Completed event follows.
        decision = Decision("ignore", f"model package is {package_status}, not {COMPLETED}", change.group)
        LOG.info("%s", decision.reason)
        return decision
    for _ in range(MAX_READ_BACKS):
        decision = _act(change, target, registry, deployer)
        if decision.action not in ("deploy", "rollback") or decision.version is None:
            return decision
        deployed = registry.get(change.group, decision.version)
        if deployed.status == ApprovalStatus.APPROVED:
            return decision
        LOG.warning(
            "%s: version %s became %s while it was being deployed; acting on that",
            target.endpoint_name,
            deployed.version,
            deployed.status,
        )
        change = StatusChange(deployed.group, deployed.version, deployed.arn, deployed.status)
    raise RuntimeError(
        f"{target.endpoint_name}: the status of {change.group} kept changing over {MAX_READ_BACKS} deploys; "
        "review again once the reviews have settled"
    )


def _act(
    change: StatusChange, target: EndpointTarget, registry: VersionSource, deployer: Deployer
) -> Decision:
    current = registry.get(change.group, change.version)
    approved = registry.list_versions(change.group, status=ApprovalStatus.APPROVED)
    state_of = getattr(deployer, "deployment_state", None)
    if change.status == ApprovalStatus.APPROVED and state_of is not None:
        state = state_of(target.endpoint_name)
        if state.busy and state.moving_to == change.arn:
            # The pipeline's deploy step (or a duplicate event) started this very update: done.
            decision = Decision(
                "noop",
                f"{target.endpoint_name} is already being updated to version {change.version}",
                change.group,
                target.endpoint_name,
            )
            LOG.info("%s: %s (%s)", target.endpoint_name, decision.action, decision.reason)
            return decision
    live_arn = deployer.live_package_arn(target.endpoint_name)
    decision = decide(change, current, approved, live_arn, target)
    if decision.action in ("deploy", "rollback"):
        chosen = (
            current if decision.version == current.version else registry.get(change.group, decision.version)
        )
        deployer.deploy(target, chosen)
    LOG.info("%s: %s (%s)", target.endpoint_name, decision.action, decision.reason)
    return decision
