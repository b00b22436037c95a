"""Least-privilege IAM documents for the deploy handler and the two schedulers (pure functions).

The operations stack (infra/templates/operations.yaml) declares these documents with intrinsics;
tests/infra/test_policies.py renders them per environment and checks they are these, so a change here
or there without the other fails.

Every statement lists its actions and scopes its resources to the project's groups, endpoints, pipeline
and log group. The one exception is sagemaker:ListModelPackages, which IAM cannot scope to a resource
(the Service Authorization Reference lists no resource type for it), so it gets "*" on its own.
"""

from __future__ import annotations

from typing import Any

from model_registry.naming import alarm_names, variant_alarm_names

VERSION = "2012-10-17"


def trust_policy(service: str, source_account: str | None = None) -> dict[str, Any]:
    """Let one AWS service assume the role; with `source_account`, only on that account's behalf.

    EventBridge Scheduler sets aws:SourceAccount (its docs recommend the confused-deputy guard); the
    Lambda service does not for execution roles, so the handler's trust has no condition.
    """
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": VERSION, "Statement": [statement]}


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _kms_statement(region: str, account: str, kms_key_id: str) -> dict[str, Any]:
    """Endpoint configs encrypted with the project key need grants on it (key ARN, key id or alias)."""
    statement: dict[str, Any] = {
        "Sid": "UseProjectKmsKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant", "kms:DescribeKey"],
    }
    if kms_key_id.startswith("arn:"):
        statement["Resource"] = kms_key_id
    elif kms_key_id.startswith("alias/"):
        statement["Resource"] = _arn("kms", region, account, "key/*")
        statement["Condition"] = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": kms_key_id}}
    else:
        statement["Resource"] = _arn("kms", region, account, f"key/{kms_key_id}")
    return statement


def deploy_handler_policy(
    region: str,
    account: str,
    groups: list[str],
    endpoints: list[str],
    execution_role_arn: str,
    function_name: str,
    kms_key_id: str | None = None,
    *,
    drift_schedules: list[str],
    drift_scheduler_role_arn: str,
    drift_job_prefixes: list[str],
    drift_bucket: str,
    drift_capture_prefix: str,
    drift_manifest_prefix: str,
) -> dict[str, Any]:
    """What the deploy handler may do: read the groups' packages, build and update the endpoints,
    pass the SageMaker execution role to SageMaker, keep the endpoints' drift schedules (in the
    default schedule group) on the served versions and pass them the drift scheduler role, run each
    firing of them (list the window's capture, write its manifest, start the monitoring job as the
    execution role: model_registry/drift_run.py), write its own logs."""
    sm = lambda resource: _arn("sagemaker", region, account, resource)  # noqa: E731 - local shorthand
    endpoint_resources = []
    for endpoint in endpoints:
        endpoint_resources += [
            sm(f"endpoint/{endpoint}"),
            sm(f"endpoint-config/{endpoint}-v*"),
            sm(f"model/{endpoint}-v*"),
        ]
    log_group = _arn("logs", region, account, f"log-group:/aws/lambda/{function_name}")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadProjectModelPackages",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
            "Resource": [sm(f"model-package/{g}/*") for g in groups]
            + [sm(f"model-package-group/{g}") for g in groups],
        },
        {
            "Sid": "ListModelPackagesHasNoResourceLevelPermissions",
            "Effect": "Allow",
            "Action": ["sagemaker:ListModelPackages"],
            "Resource": "*",
        },
        {
            "Sid": "DeployProjectEndpoints",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateEndpoint",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateModel",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:UpdateEndpoint",
            ],
            "Resource": endpoint_resources,
        },
        {
            # A serverless endpoint has no alarm-driven rollback: after switching it, the handler invokes it
            # once and switches back on failure (model_registry/serverless.py canary).
            "Sid": "CanaryInvokeProjectEndpoints",
            "Effect": "Allow",
            "Action": ["sagemaker:InvokeEndpoint"],
            "Resource": [sm(f"endpoint/{endpoint}") for endpoint in endpoints],
        },
        {
            # A/B challengers (model_registry/variants.py): the split moves in place, no new fleet.
            "Sid": "ShiftChallengerTraffic",
            "Effect": "Allow",
            "Action": ["sagemaker:UpdateEndpointWeightsAndCapacities"],
            "Resource": [sm(f"endpoint/{endpoint}") for endpoint in endpoints],
        },
        {
            # A challenger's own 5XX and latency alarms, made on add and deleted on promote/abort. The
            # names carry "-v<n>-", so the stack's rollback alarms (<endpoint>-5xx-errors) stay out of reach.
            "Sid": "ManageChallengerAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm"],
            "Resource": [
                _arn("cloudwatch", region, account, f"alarm:{name}")
                for endpoint in endpoints
                for name in variant_alarm_names(endpoint, "v*").values()
            ],
        },
        {
            # Endpoints built before one deployer (the pipeline's own Endpoint steps) serve a config
            # named <endpoint>-<execution id> and a model named pipelines-<id>-...: the handler reads
            # them to learn what is live (then replaces them with its own <endpoint>-v<n>-<hash>).
            "Sid": "ReadPipelineBuiltEndpoints",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
            "Resource": [sm(f"endpoint-config/{endpoint}-*") for endpoint in endpoints]
            + [sm("model/pipelines-*")],
        },
        {
            "Sid": "ReadRollbackAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": [
                _arn("cloudwatch", region, account, f"alarm:{name}")
                for endpoint in endpoints
                for name in alarm_names(endpoint).values()
            ],
        },
        {
            "Sid": "PassExecutionRoleToSageMaker",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": execution_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            # model_registry/monitoring_schedule.py sync_schedule: read, create, update or delete.
            "Sid": "KeepDriftSchedules",
            "Effect": "Allow",
            "Action": [
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ],
            "Resource": [
                _arn("scheduler", region, account, f"schedule/default/{name}") for name in drift_schedules
            ],
        },
        {
            # Creating or updating a schedule passes its target's role to the Scheduler (EventBridge
            # Scheduler User Guide, "Setting up the execution role": iam:PassRole, iam:PassedToService
            # scheduler.amazonaws.com).
            "Sid": "PassDriftSchedulerRole",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": drift_scheduler_role_arn,
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
        {
            # A firing starts its monitoring job (named <env>-<model>-drift-<execution id>). Tags on
            # create also need sagemaker:AddTags (Service Authorization Reference, "Actions defined by
            # Amazon SageMaker AI": CreateProcessingJob's dependent actions); the job role is passed
            # by PassExecutionRoleToSageMaker (it is the execution role).
            "Sid": "StartDriftMonitoringJobs",
            "Effect": "Allow",
            "Action": ["sagemaker:AddTags", "sagemaker:CreateProcessingJob"],
            "Resource": [sm(f"processing-job/{p}*") for p in drift_job_prefixes],
        },
        {
            # The window's hour folders of the endpoints' capture (ListObjectsV2 is s3:ListBucket on the
            # bucket; s3:prefix narrows it to the capture root).
            "Sid": "ListDriftWindowCapture",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": f"arn:aws:s3:::{drift_bucket}",
            "Condition": {"StringLike": {"s3:prefix": [f"{drift_capture_prefix.strip('/')}/*"]}},
        },
        {
            "Sid": "WriteDriftManifests",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": f"arn:aws:s3:::{drift_bucket}/{drift_manifest_prefix.strip('/')}/*",
        },
        {
            "Sid": "CreateOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup"],
            "Resource": log_group,
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:log-stream:*",
        },
    ]
    if kms_key_id:
        statements.append(_kms_statement(region, account, kms_key_id))
        # The bucket encrypts new objects with the project key (the storage stack's default
        # encryption): uploading an object encrypted with a KMS key needs kms:GenerateDataKey on it
        # (S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", Permissions;
        # kms:Decrypt only for multipart uploads, which a manifest of a few KB never is).
        statements.append(
            {**_kms_statement(region, account, kms_key_id), "Sid": "EncryptDriftManifests"}
            | {"Action": ["kms:GenerateDataKey"]}
        )
    return {"Version": VERSION, "Statement": statements}


def scheduler_policy(pipeline_arn: str) -> dict[str, Any]:
    """What the retraining schedule may do: start that one pipeline."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "StartRetrainingPipeline",
                "Effect": "Allow",
                "Action": ["sagemaker:StartPipelineExecution"],
                "Resource": pipeline_arn,
            }
        ],
    }


def drift_scheduler_policy(handler_function_arn: str) -> dict[str, Any]:
    """What the drift monitoring schedules may do: invoke the deploy handler, which starts each window's
    job (model_registry/drift_run.py). A Lambda target needs lambda:InvokeFunction on the function
    ("Using templated targets in EventBridge Scheduler": the execution role must be allowed the
    targeted API operation); nothing else: the job, its role and its key are the handler's business."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "InvokeDeployHandler",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": handler_function_arn,
            }
        ],
    }


def mlflow_server_policy(artifact_store_uri: str, kms_key_arn: str) -> dict[str, Any]:
    """What the MLflow tracking server the operations stack creates may do: keep its artifact store.

    The server reads and writes artifacts under its store ("Set up IAM permissions for MLflow", the
    tracking server's service role); automatic registration into the Model Registry stays off (the
    pipeline registers), so it needs no sagemaker action. The store sits in an SSE-KMS bucket.
    """
    bucket, _, prefix = artifact_store_uri.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    objects = f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"
    listing: dict[str, Any] = {
        "Sid": "ListArtifactStore",
        "Effect": "Allow",
        "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    if prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ArtifactStore",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": objects,
            },
            listing,
            {
                "Sid": "ArtifactStoreKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": kms_key_arn,
            },
        ],
    }
