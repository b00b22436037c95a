"""The SageMaker Model Registry behind the registry interface (boto3).

    reg = SageMakerRegistry(boto3.client("sagemaker"), boto3.client("s3"))
    reg.list_versions("stranger-things-chatbot")

Metrics come from the evaluation report the package's ModelMetrics point at (read from S3); without an
S3 client (the deploy handler, which needs no metrics and has no S3 permission) they stay empty.
Approving or rejecting here only changes the status: SageMaker then emits the state-change event
that the deploy handler acts on. Stdlib + boto3 only (the Lambda bundle imports it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from model_registry.metrics import metrics_from_report
from model_registry.types import ApprovalStatus, ModelVersion, check_status

# Where a package's ModelMetrics may point at the evaluation report, most likely first.
METRIC_SOURCES = (
    ("ModelQuality", "Statistics"),
    ("ModelQuality", "Constraints"),
    ("Explainability", "Report"),
    ("Bias", "Report"),
)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def report_uri(description: dict[str, Any]) -> str:
    """The S3 URI of the evaluation report in a DescribeModelPackage answer ('' when none)."""
    model_metrics = description.get("ModelMetrics") or {}
    for section, key in METRIC_SOURCES:
        uri = ((model_metrics.get(section) or {}).get(key) or {}).get("S3Uri")
        if uri:
            return str(uri)
    return ""


def version_from_description(description: dict[str, Any], metrics: dict[str, float]) -> ModelVersion:
    """A ModelVersion from DescribeModelPackage's answer."""
    containers = (description.get("InferenceSpecification") or {}).get("Containers") or [{}]
    first = containers[0]
    return ModelVersion(
        group=description["ModelPackageGroupName"],
        version=int(description["ModelPackageVersion"]),
        arn=description["ModelPackageArn"],
        status=description.get("ModelApprovalStatus", ApprovalStatus.PENDING.value),
        model_data_url=first.get("ModelDataUrl", ""),
        image_uri=first.get("Image", ""),
        metrics=metrics,
        evaluation_uri=report_uri(description),
        environment=dict(first.get("Environment") or {}),
        description=description.get("ModelPackageDescription", ""),
        created_at=_iso(description.get("CreationTime")),
        status_updated_at=_iso(description.get("LastModifiedTime") or description.get("CreationTime")),
        status_note=description.get("ApprovalDescription", ""),
    )


class SageMakerRegistry:
    """List, show, approve and reject model packages in the SageMaker Model Registry."""

    def __init__(self, sagemaker_client: Any, s3_client: Any | None = None) -> None:
        self.sm = sagemaker_client
        self.s3 = s3_client
        self._group_arns: dict[str, str] = {}

    def list_groups(self) -> list[str]:
        pages = self.sm.get_paginator("list_model_package_groups").paginate()
        return sorted(
            g["ModelPackageGroupName"] for page in pages for g in page["ModelPackageGroupSummaryList"]
        )

    def _summaries(self, group: str, status: str | None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "ModelPackageType": "Versioned"}
        if status is not None:
            kwargs["ModelApprovalStatus"] = check_status(status)
        pages = self.sm.get_paginator("list_model_packages").paginate(**kwargs)
        return [s for page in pages for s in page["ModelPackageSummaryList"]]

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]:
        """Versions of `group`, oldest first, optionally only those with `status`."""
        self._group_arn(group)  # a missing group fails here with a clear message
        arns = [s["ModelPackageArn"] for s in self._summaries(group, status)]
        versions = [self._describe(arn) for arn in arns]
        return sorted(versions, key=lambda v: v.version)

    def _group_arn(self, group: str) -> str:
        if group not in self._group_arns:
            try:
                answer = self.sm.describe_model_package_group(ModelPackageGroupName=group)
            except ClientError as error:
                raise KeyError(f"no model package group {group!r} in SageMaker: {error}") from error
            self._group_arns[group] = answer["ModelPackageGroupArn"]
        return self._group_arns[group]

    def package_arn(self, group: str, version: int) -> str:
        """arn:...:model-package/<group>/<version>, built from the group's ARN (same account and region)."""
        return self._group_arn(group).replace(":model-package-group/", ":model-package/") + f"/{int(version)}"

    def _describe(self, arn: str) -> ModelVersion:
        description = self.sm.describe_model_package(ModelPackageName=arn)
        return version_from_description(description, self._metrics(description))

    def _metrics(self, description: dict[str, Any]) -> dict[str, float]:
        uri = report_uri(description)
        if self.s3 is None or not uri:
            return {}
        parsed = urlparse(uri)
        try:
            body = self.s3.get_object(Bucket=parsed.netloc, Key=parsed.path.lstrip("/"))["Body"].read()
        except ClientError as error:
            raise RuntimeError(
                f"cannot read the evaluation report {uri} of {description['ModelPackageArn']}: {error}"
            ) from error
        return metrics_from_report(json.loads(body))

    def get(self, group: str, version: int) -> ModelVersion:
        try:
            return self._describe(self.package_arn(group, version))
        except ClientError as error:
            message = str(error)
            if any(text in message for text in ("does not exist", "not found", "Could not find")):
                raise KeyError(f"no version {version} in model package group {group!r}") from error
            raise

    def card(self, group: str, version: int) -> dict[str, Any] | None:
        """The version's model card content (DescribeModelPackage's ModelCard), or None without one."""
        # Imported here: the deploy handler's Lambda bundle (lambda_bundle.BUNDLE_MODULES) reads no cards.
        from model_registry.cards import parse_content

        try:
            description = self.sm.describe_model_package(ModelPackageName=self.package_arn(group, version))
        except ClientError as error:
            raise KeyError(f"no version {version} in model package group {group!r}: {error}") from error
        text = (description.get("ModelCard") or {}).get("ModelCardContent")
        return parse_content(text) if text else None

    def set_status(self, group: str, version: int, status: str, note: str = "") -> ModelVersion:
        """Change the approval status (SageMaker emits the state-change event the handler acts on)."""
        check_status(status)
        request = {"ModelPackageArn": self.package_arn(group, version), "ModelApprovalStatus": status}
        if note:
            request["ApprovalDescription"] = note
        self.sm.update_model_package(**request)
        return self.get(group, version)

    def latest_approved(self, group: str) -> ModelVersion | None:
        approved = self._summaries(group, ApprovalStatus.APPROVED)
        if not approved:
            return None
        newest = max(approved, key=lambda s: int(s["ModelPackageVersion"]))
        return self._describe(newest["ModelPackageArn"])
