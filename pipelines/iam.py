"""The execution role's least-privilege policy, generated from config (`make iam-policy ENV=...`).

Every statement lists its actions (no wildcards in actions) and scopes resources to the project: its
bucket and prefix (plus the input data's bucket and prefix), the jobs SageMaker Pipelines starts
(named `pipelines-*`), its model package groups, its endpoints `<project>-<env>-*`, its ECR
repositories, its log groups, and the KMS key and VPC when config sets them. The few actions AWS only
authorises on `*` (ecr:GetAuthorizationToken, cloudwatch:PutMetricData, ec2:Describe*) say so.
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config

DLC_ACCOUNTS = ("763104351884",)  # where the AWS Deep Learning Containers live


def _split_s3(uri: str) -> tuple[str, str] | None:
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key.strip("/")


def _s3_statements(cfg: Config) -> list[dict[str, Any]]:
    locations = {(cfg.project.bucket, cfg.project.prefix.strip("/"))}
    data = _split_s3(cfg.data.input_uri)
    project_bucket, project_prefix = next(iter(locations))
    inside_project = data and data[0] == project_bucket and f"{data[1]}/".startswith(f"{project_prefix}/")
    if data and not inside_project:
        locations.add(data)
    objects = sorted(
        f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
        for bucket, prefix in locations
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ProjectObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            "Resource": objects,
        }
    ]
    for index, (bucket, prefix) in enumerate(sorted(locations)):
        statement: dict[str, Any] = {
            "Sid": f"ListProjectPrefix{index}",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        }
        if prefix:
            statement["Condition"] = {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}
        statements.append(statement)
    return statements


def execution_role_policy(cfg: Config) -> dict[str, Any]:
    """The IAM policy document (version 2012-10-17) for the pipeline's execution role."""
    region, account = cfg.project.region, cfg.project.account_id
    arn = f"arn:aws:sagemaker:{region}:{account}"
    groups = [cfg.registry.chatbot_group, cfg.registry.classifier_group]
    endpoints = f"{cfg.project.name}-{cfg.env}-*"
    statements = [
        *_s3_statements(cfg),
        {
            "Sid": "PipelineJobs",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateHyperParameterTuningJob",
                "sagemaker:CreateProcessingJob",
                "sagemaker:CreateTrainingJob",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeHyperParameterTuningJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:ListTrainingJobsForHyperParameterTuningJob",
                "sagemaker:StopHyperParameterTuningJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:StopTransformJob",
            ],
            # Tuning trials are training jobs named after their tuning job (pipelines-...-NNN-...).
            "Resource": [
                f"{arn}:processing-job/pipelines-*",
                f"{arn}:training-job/pipelines-*",
                f"{arn}:hyper-parameter-tuning-job/pipelines-*",
                f"{arn}:transform-job/pipelines-*",
            ],
        },
        {
            "Sid": "ModelRegistry",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateModelPackage",
                "sagemaker:CreateModelPackageGroup",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:ListModelPackages",
                "sagemaker:UpdateModelPackage",
            ],
            "Resource": [f"{arn}:model-package-group/{g}" for g in groups]
            + [f"{arn}:model-package/{g}/*" for g in groups],
        },
        {
            "Sid": "ModelsAndEndpoints",
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
            # Models are named by the pipeline (pipelines-<execution>-...); endpoints by us.
            "Resource": [
                f"{arn}:model/pipelines-*",
                f"{arn}:endpoint-config/{endpoints}",
                f"{arn}:endpoint/{endpoints}",
            ],
        },
        {
            "Sid": "PassThisRoleToSageMaker",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [cfg.project.role_arn],
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": [f"arn:aws:ecr:{region}:{account}:repository/{cfg.project.name}-*"]
            + [f"arn:aws:ecr:{region}:{dlc}:repository/*" for dlc in DLC_ACCOUNTS],
        },
        {
            "Sid": "EcrLoginIsAccountWide",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": ["*"],
        },
        {
            "Sid": "JobLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            "Resource": [f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*"],
        },
        {
            "Sid": "JobMetricsOnlyInSageMakerNamespaces",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
        },
    ]
    statements += _kms_statements(cfg) + _vpc_statements(cfg)
    return {"Version": "2012-10-17", "Statement": statements}


def _kms_statements(cfg: Config) -> list[dict[str, Any]]:
    key = cfg.security.kms_key_id
    if not key:
        return []
    region, account = cfg.project.region, cfg.project.account_id
    statement: dict[str, Any] = {
        "Sid": "ProjectKmsKey",
        "Effect": "Allow",
        "Action": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
    }
    if key.startswith("arn:"):
        statement["Resource"] = [key]
    elif key.startswith("alias/"):
        # An alias names a key we cannot resolve offline: allow keys of this account that carry the alias.
        statement["Resource"] = [f"arn:aws:kms:{region}:{account}:key/*"]
        statement["Condition"] = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key]}}
    else:
        statement["Resource"] = [f"arn:aws:kms:{region}:{account}:key/{key}"]
    return [statement]


def _vpc_statements(cfg: Config) -> list[dict[str, Any]]:
    if not cfg.security.subnets:
        return []
    region, account = cfg.project.region, cfg.project.account_id
    return [
        {
            "Sid": "VpcDescribeIsAccountWide",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            "Resource": ["*"],
        },
        {
            "Sid": "JobNetworkInterfaces",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            "Resource": [f"arn:aws:ec2:{region}:{account}:network-interface/*"]
            + [f"arn:aws:ec2:{region}:{account}:subnet/{s}" for s in cfg.security.subnets]
            + [f"arn:aws:ec2:{region}:{account}:security-group/{g}" for g in cfg.security.security_group_ids],
        },
    ]
