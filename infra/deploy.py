"""Create, update, preview and delete the stacks through change sets (boto3 CloudFormation only).

Every change goes through a change set: it is described (what is added, modified, replaced, removed)
before anything happens, and `deploy` executes it only once `confirm` agrees. A change set with no
changes is deleted and reported as such, so re-running a deploy is a quiet no-op.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, WaiterError

LOG = logging.getLogger(__name__)
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# A stack in one of these states cannot take a change set; the message says what to do.
BROKEN_STATES = {
    "ROLLBACK_COMPLETE": "its creation failed and rolled back: `make destroy-infra` it, then deploy again",
    "ROLLBACK_FAILED": "its rollback failed: fix the resource named in its events, then delete the stack",
    "DELETE_FAILED": "its deletion failed: see its events, remove what blocks it, delete it again",
    "UPDATE_ROLLBACK_FAILED": "continue its rollback (aws cloudformation continue-update-rollback) first",
}
WAIT = {"Delay": 5, "MaxAttempts": 720}


class StackStateError(RuntimeError):
    """The stack is in a state that takes no change set; the message says how to get out of it."""


class ChangeSetFailed(RuntimeError):
    """CloudFormation refused the change set (a missing export, an invalid property...)."""


@dataclass(frozen=True)
class Change:
    """One resource change of a change set, as CloudFormation describes it."""

    action: str  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = ""  # True | False | Conditional (Modify only)
    physical_id: str = ""

    def line(self) -> str:
        replace = " (REPLACES the resource)" if self.replacement == "True" else ""
        replace = " (may replace the resource)" if self.replacement == "Conditional" else replace
        return f"{self.action:<7} {self.logical_id:<28} {self.resource_type}{replace}"


@dataclass
class StackResult:
    """What happened to one stack: its change set's changes, whether they ran, and its outputs."""

    stack: str
    change_set_type: str
    changes: list[Change] = field(default_factory=list)
    executed: bool = False
    outputs: dict[str, str] = field(default_factory=dict)


def stack_status(cfn: Any, stack: str) -> str | None:
    """The stack's status, or None when there is none (a deleted stack counts as none)."""
    try:
        [found] = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return None if found["StackStatus"] == "DELETE_COMPLETE" else found["StackStatus"]


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    [found] = cfn.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def _changes(description: dict[str, Any]) -> list[Change]:
    changes = []
    for change in description.get("Changes", []):
        resource = change["ResourceChange"]
        changes.append(
            Change(
                action=resource["Action"],
                logical_id=resource["LogicalResourceId"],
                resource_type=resource["ResourceType"],
                replacement=resource.get("Replacement", ""),
                physical_id=resource.get("PhysicalResourceId", ""),
            )
        )
    return changes


def _template_adds(template_body: str) -> list[Change]:
    from infra.template import load_template_text

    resources = load_template_text(template_body)["Resources"]
    return [Change("Add", logical, spec["Type"]) for logical, spec in resources.items()]


def create_change_set(
    cfn: Any,
    stack: str,
    template_body: str,
    parameters: list[dict[str, str]],
    tags: dict[str, str],
    role_arn: str | None = None,
) -> tuple[str, str, list[Change]]:
    """Create and describe a change set; returns (its ARN, CREATE or UPDATE, the changes).

    With no changes the change set is deleted and the name is ''.
    """
    status = stack_status(cfn, stack)
    if status in BROKEN_STATES:
        raise StackStateError(f"stack {stack} is {status}: {BROKEN_STATES[status]}")
    kind = "CREATE" if status in (None, "REVIEW_IN_PROGRESS") else "UPDATE"
    name = f"infra-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    request: dict[str, Any] = {
        "StackName": stack,
        "ChangeSetName": name,
        "ChangeSetType": kind,
        "TemplateBody": template_body,
        "Parameters": parameters,
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        "Description": "make deploy-infra / infra-diff",
    }
    if role_arn:
        request["RoleARN"] = role_arn
    name = cfn.create_change_set(**request)["Id"]  # the ARN: unambiguous in every later call
    # FAILED is a terminal state the waiter reports as an error: the description below says why.
    with contextlib.suppress(WaiterError):
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=stack, ChangeSetName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 300}
        )
    description = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
    if description["Status"] == "FAILED":
        reason = description.get("StatusReason", "")
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if any(marker in reason for marker in NO_CHANGES):
            return "", kind, []
        raise ChangeSetFailed(f"{stack}: change set failed: {reason}")
    return name, kind, _changes(description)


def discard_change_set(cfn: Any, stack: str, name: str, kind: str) -> None:
    """Delete a change set nobody executes; a CREATE one leaves an empty stack in review: delete it too."""
    cfn.delete_change_set(StackName=stack, ChangeSetName=name)
    if kind == "CREATE":
        cfn.delete_stack(StackName=stack)


def execute_change_set(cfn: Any, stack: str, name: str, kind: str) -> None:
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
    try:
        cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig=WAIT)
    except WaiterError as error:
        raise ChangeSetFailed(f"{stack}: {stack_status(cfn, stack)}; see its events: {error}") from None


def deploy_stack(
    cfn: Any,
    stack: str,
    template_body: str,
    parameters: list[dict[str, str]],
    tags: dict[str, str],
    confirm: Callable[[str, list[Change]], bool],
    role_arn: str | None = None,
    execute: bool = True,
) -> StackResult:
    """Change set -> confirm -> execute -> outputs. `execute=False` previews only (infra-diff).

    A preview of a stack that does not exist yet lists the template's resources instead of creating a
    change set: a CREATE change set leaves a stack in REVIEW_IN_PROGRESS that only DeleteStack removes
    (a right the preview role must not have), and its imports may not exist yet.
    """
    if not execute and stack_status(cfn, stack) is None:
        return StackResult(stack=stack, change_set_type="CREATE", changes=_template_adds(template_body))
    name, kind, changes = create_change_set(cfn, stack, template_body, parameters, tags, role_arn)
    result = StackResult(stack=stack, change_set_type=kind, changes=changes)
    if not name:
        LOG.info("%s: no changes", stack)
    elif not execute or not confirm(stack, changes):  # a preview never asks
        discard_change_set(cfn, stack, name, kind)
    else:
        execute_change_set(cfn, stack, name, kind)
        result.executed = True
    if stack_status(cfn, stack) is not None:
        result.outputs = stack_outputs(cfn, stack)
    return result


def delete_stack(cfn: Any, stack: str) -> bool:
    """Delete the stack and wait; False when there was none."""
    if stack_status(cfn, stack) is None:
        return False
    cfn.delete_stack(StackName=stack)
    try:
        cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig=WAIT)
    except WaiterError as error:
        raise StackStateError(f"{stack}: deletion did not finish ({error}); see its events") from None
    return True


def bucket_holds_data(s3: Any, bucket: str) -> bool:
    """True when any object version or delete marker is left (a versioned bucket must be empty of both)."""
    try:
        listing = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchBucket":
            return False
        raise
    return bool(listing.get("Versions") or listing.get("DeleteMarkers"))


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker; returns how many went."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True})
        deleted += len(keys)
    return deleted


def upload_once(s3: Any, bucket: str, key: str, body: bytes) -> bool:
    """Put `body` at a content-addressed key unless it is there already; True when it was uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return True
