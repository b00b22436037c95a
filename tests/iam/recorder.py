"""Record every AWS call a boto3 session makes, as IAM accesses (action + resource ARNs + conditions).

A botocore `provide-client-params` hook sees each call's parameters before they are sent; the IAM
action is `<prefix>:<Operation>` except where the Service Authorization Reference names it otherwise
(`IAM_ACTION`); the resources are the action's ARN formats filled from the parameters (`VALUE_FROM`
names which parameter fills which placeholder). Some calls imply more than their own action
(`implied`): passing a role, tagging on create.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import boto3

from tests.iam.policy_eval import Access, resource_arns

# API operation -> IAM action, where they differ (Service Authorization Reference).
IAM_ACTION = {
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
}
IAM_PREFIX = {
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",  # InvokeEndpoint is sagemaker:InvokeEndpoint
    "s3": "s3",
    "lambda": "lambda",
    "scheduler": "scheduler",
}

# IAM placeholder -> the request parameters that carry it (first present wins).
VALUE_FROM: dict[str, tuple[str, ...]] = {
    "EndpointName": ("EndpointName",),
    "EndpointConfigName": ("EndpointConfigName",),
    "ModelName": ("ModelName",),
    "ModelPackageGroupName": ("ModelPackageGroupName",),
    "ModelPackageName": ("ModelPackageName", "ModelPackageArn"),
    "PipelineName": ("PipelineName",),
    "BucketName": ("Bucket",),
    "ObjectName": ("Key",),
    "FunctionName": ("FunctionName",),
    "ScheduleName": ("Name",),
    "GroupName": ("GroupName",),
    "RepositoryName": ("repositoryName",),
    "AlarmName": ("AlarmName",),
    "ProcessingJobName": ("ProcessingJobName",),
}
# Condition keys a call carries, from its parameters (Service Authorization Reference, condition keys).
CONTEXT_FROM: dict[tuple[str, str], dict[str, str]] = {
    ("s3", "ListObjectsV2"): {"s3:prefix": "Prefix"},
}


def _values(params: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for placeholder, keys in VALUE_FROM.items():
        for key in keys:
            value = params.get(key)
            if isinstance(value, str) and value:
                # An ARN parameter names the resource by ARN: keep its resource part.
                if value.startswith("arn:"):
                    resource = value.split(":", 5)[5]
                    value = resource.split("/", 1)[1] if "/" in resource else resource.rsplit(":", 1)[-1]
                values[placeholder] = value
                break
    return values


class CallRecorder:
    """Attach to a boto3 session; every call made through its clients lands in `accesses`."""

    def __init__(self, session: boto3.session.Session, principal: str, region: str, account: str) -> None:
        self.principal, self.region, self.account = principal, region, account
        self.accesses: list[Access] = []
        self.calls: list[tuple[str, str]] = []
        self.source = ""
        session.events.register("provide-client-params", self._on_call)

    def _on_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        operation = model.name
        self.calls.append((service, operation))
        prefix = IAM_PREFIX.get(service, service)
        action = IAM_ACTION.get((service, operation), operation)
        keys = CONTEXT_FROM.get((service, operation), {})
        context = {key: str(params[name]) for key, name in keys.items() if name in params}
        resource = params.get("ResourceArn")
        if isinstance(resource, str):  # tagging calls name the resource by ARN: that is the resource
            conditions = tuple(sorted(context.items()))
            access = Access(self.principal, f"{prefix}:{action}", resource, conditions, self.source)
            self.accesses.append(access)
        elif isinstance(params.get("AlarmNames"), list):  # DeleteAlarms: one alarm resource per name
            for alarm in params["AlarmNames"]:
                self.add(prefix, action, {**_values(params), "AlarmName": alarm}, context)
        else:
            self.add(prefix, action, _values(params), context)
        for extra in implied(prefix, action, params, self.region, self.account):
            self.accesses.append(replace(extra, principal=self.principal, source=self.source))

    def add(
        self, prefix: str, action: str, values: dict[str, str], context: dict[str, str] | None = None
    ) -> None:
        for arn in resource_arns(prefix, action, values, self.region, self.account):
            self.accesses.append(
                Access(
                    self.principal,
                    f"{prefix}:{action}",
                    arn,
                    tuple(sorted((context or {}).items())),
                    self.source,
                )
            )

    def implied_by(self, fn: Callable[[], list[Access]]) -> None:
        self.accesses.extend(fn())


def implied(prefix: str, action: str, params: dict[str, Any], region: str, account: str) -> list[Access]:
    """Accesses a call needs beyond its own action: iam:PassRole of the role it hands SageMaker or the
    Scheduler (condition iam:PassedToService), sagemaker:AddTags when it tags what it creates."""
    out: list[Access] = []
    if prefix == "scheduler" and action in ("CreateSchedule", "UpdateSchedule"):
        # The schedule's target role is passed to the Scheduler (its user guide, "Setting up the
        # execution role").
        role = (params.get("Target") or {}).get("RoleArn")
        passed = (("iam:PassedToService", "scheduler.amazonaws.com"),)
        return [Access("?", "iam:PassRole", role, passed)] if isinstance(role, str) else []
    if prefix != "sagemaker":
        return out
    role = params.get("ExecutionRoleArn") or params.get("RoleArn")
    if isinstance(role, str):
        out.append(Access("?", "iam:PassRole", role, (("iam:PassedToService", "sagemaker.amazonaws.com"),)))
    if params.get("Tags") and action.startswith("Create"):
        kind = action.removeprefix("Create")
        values = _values(params)
        for arn in resource_arns("sagemaker", action, values, region, account):
            if f":{_kebab(kind)}/" in arn:
                out.append(Access("?", "sagemaker:AddTags", arn))
    return out


def _kebab(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
