"""The deploy handler's direct requests: what the pipeline's Lambda steps ask of it.

    {"request": "reconcile", "group": "<group>"}            (DeployChatbot / DeployClassifier)
    {"request": "find", "group": "<group>", "model_data_url": "s3://...", "evaluation_uri": "s3://..."}
                                                              (FindChatbotVersion / FindClassifierVersion)

One deployer (issue 11): the pipeline does not build endpoints itself; its deploy step invokes the same
handler that EventBridge invokes on approvals, so both paths carry the same guardrails (blue/green with
alarm rollback, data capture) and converge on one result:

- `reconcile` points the group's endpoint at the group's latest approved version. An endpoint already
  serving it, or being updated to it (an approval event got there first), is done. An endpoint busy
  moving elsewhere is left to the approval event of the latest version (the handler's event path waits
  for a busy endpoint); the step says so instead of failing a run whose registration succeeded. It
  starts the deployment and returns: a Lambda step waits at most 10 minutes, a blue/green update
  takes longer.
- `find` looks the group up for a version with the same artifact and evaluation report, so that a fully
  cached scheduled run registers nothing new, and a rejected model stays rejected.

Stdlib only: this module travels in the Lambda bundle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from model_registry.deploy_logic import Decision, EndpointTarget, HandlerSettings, VersionSource
from model_registry.types import ApprovalStatus, ModelVersion

LOG = logging.getLogger(__name__)

REQUEST_KEY = "request"
RECONCILE = "reconcile"
FIND = "find"


class BadRequest(ValueError):
    """A direct request the handler cannot serve (unknown kind, missing field, foreign group)."""


@dataclass(frozen=True)
class DeploymentState:
    """What an endpoint serves and, while it changes, what it is moving to (package ARNs)."""

    exists: bool
    busy: bool = False
    serving: str | None = None
    moving_to: str | None = None
    status: str = ""


class StatefulDeployer(Protocol):
    """A deployer that reports an endpoint's state without waiting for it to settle."""

    def deployment_state(self, endpoint_name: str) -> DeploymentState: ...

    def deploy(self, target: EndpointTarget, version: ModelVersion) -> None: ...


def is_direct_request(event: dict[str, Any]) -> bool:
    """True for a pipeline step's request; False for an EventBridge event (it has a detail-type)."""
    return REQUEST_KEY in event and "detail-type" not in event


def _field(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{event.get(REQUEST_KEY)!r} request lacks {name!r} (a non-empty string)")
    return value


def _target(settings: HandlerSettings, group: str) -> EndpointTarget:
    target = settings.targets.get(group)
    if target is None:
        raise BadRequest(
            f"group {group!r} is not one of this handler's ({', '.join(sorted(settings.targets))}): "
            "the pipeline and the operations stack were built from different configs"
        )
    return target


def reconcile(
    group: str, settings: HandlerSettings, registry: VersionSource, deployer: StatefulDeployer
) -> Decision:
    """Point `group`'s endpoint at its latest approved version; start the update and return."""
    target = _target(settings, group)
    base = {"group": group, "endpoint_name": target.endpoint_name}
    approved = registry.list_versions(group, status=ApprovalStatus.APPROVED)
    if not approved:
        return Decision("noop", f"no approved version of {group}: nothing to deploy", **base)
    latest = max(approved, key=lambda v: v.version)
    chosen = {"version": latest.version, "model_package_arn": latest.arn, **base}
    state = deployer.deployment_state(target.endpoint_name)
    if state.busy:
        if state.moving_to == latest.arn:
            return Decision(
                "noop",
                f"{target.endpoint_name} is already being updated to version {latest.version}",
                **chosen,
            )
        return Decision(
            "noop",
            f"{target.endpoint_name} is {state.status}; the approval event of version {latest.version} "
            "deploys it once the endpoint settles (the handler's event path waits for a busy endpoint)",
            **chosen,
        )
    if state.serving == latest.arn:
        return Decision("noop", f"{target.endpoint_name} already serves version {latest.version}", **chosen)
    deployer.deploy(target, latest)
    return Decision("deploy", f"latest approved version {latest.version}", **chosen)


def same_uri(stored: str, asked: str) -> bool:
    """SageMaker: a cached step hands on the very S3 URI it wrote, so equal URIs are the same object."""
    return stored == asked


def find(
    group: str,
    model_data_url: str,
    evaluation_uri: str,
    registry: VersionSource,
    same: Callable[[str, str], bool] = same_uri,
) -> ModelVersion | None:
    """The newest version of `group` registered with this artifact and this evaluation report, any status."""
    try:
        versions = registry.list_versions(group)
    except KeyError:  # no such group yet: nothing registered
        return None
    matches = [
        v
        for v in versions
        if same(v.model_data_url, model_data_url) and same(v.evaluation_uri, evaluation_uri)
    ]
    return max(matches, key=lambda v: v.version) if matches else None


def find_outputs(found: ModelVersion | None) -> dict[str, Any]:
    """The Lambda step's OutputParameters (strings: a ConditionStep compares them with a literal)."""
    if found is None:
        return {"found": "false", "version": "0", "status": "", "model_package_arn": ""}
    return {
        "found": "true",
        "version": str(found.version),
        "status": found.status,
        "model_package_arn": found.arn,
    }


def handle_request(
    event: dict[str, Any],
    settings: HandlerSettings,
    registry: VersionSource,
    deployer: StatefulDeployer,
    same: Callable[[str, str], bool] = same_uri,
) -> dict[str, Any]:
    """Serve one direct request; returns the Lambda step's outputs (flat strings).

    `same` says whether a stored artifact/report location and a requested one are the same object
    (the local backend stores paths, one run folder per run, so it compares contents).
    """
    kind = event.get(REQUEST_KEY)
    group = _field(event, "group")
    if kind == RECONCILE:
        decision = reconcile(group, settings, registry, deployer)
        LOG.info("%s: %s (%s)", decision.endpoint_name, decision.action, decision.reason)
        return {
            "action": decision.action,
            "reason": decision.reason,
            "endpoint_name": decision.endpoint_name or "",
            "version": str(decision.version or 0),
            "model_package_arn": decision.model_package_arn or "",
        }
    if kind == FIND:
        _target(settings, group)
        found = find(group, _field(event, "model_data_url"), _field(event, "evaluation_uri"), registry, same)
        LOG.info("%s: %s", group, f"version {found.version} ({found.status})" if found else "not registered")
        return find_outputs(found)
    raise BadRequest(f"unknown request {kind!r}: expected {RECONCILE!r} or {FIND!r}")
