"""The one offline-safe PipelineSession factory.

Building the definition must make no network call and need no credentials, so before the SDK is imported
this module sets what the SDK otherwise discovers over the network: the region (a client is created at
import time), no EC2 instance-metadata probing, no role validation through IAM, and no telemetry sender
(each SDK `run/train/register` call would otherwise start a thread that calls STS and S3).
`sagemaker_config={}` stops the SDK from reading and re-validating user config files on every lookup.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the SDK takes seconds to import: only type checkers see it here
    from sagemaker.core.workflow.pipeline_context import PipelineSession

OFFLINE_ENVIRONMENT = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


def prepare_offline_environment(region: str) -> None:
    """Set the variables the SDK reads at import time; call before importing `sagemaker`."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def _disable_telemetry() -> None:
    """Turn the SDK's usage telemetry into a no-op (it would reach STS and S3 from a background thread)."""
    from sagemaker.core.telemetry import telemetry_logging

    telemetry_logging._send_telemetry_request = lambda *args, **kwargs: None


def make_session(
    region: str, boto_session: Any | None = None, default_bucket: str | None = None
) -> PipelineSession:
    """A PipelineSession for `region` that makes no call while the definition is built.

    `boto_session` lets callers (upsert, tests under moto) pass their own; the definition build uses a
    fresh boto3 session with the region set and nothing else.
    """
    prepare_offline_environment(region)
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    _disable_telemetry()
    session = boto_session or boto3.session.Session(region_name=region)
    return PipelineSession(boto_session=session, default_bucket=default_bucket, sagemaker_config={})
