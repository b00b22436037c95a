"""The two roles' least-privilege policies, generated from config (`make iam-policy ENV=... ROLE=...`).

Two roles, because job code must not hold the pipeline's powers (issue 11):
- the job role (`execution_role_policy`, conf `project.role_name`): the identity all job code and the
  served models run as. Data access only: read the project's data, write run outputs, pull images,
  write logs and metrics. `code/` is read-only to it (an explicit Deny), so a job cannot overwrite the
  content-addressed bundles cached steps trust; it cannot register or approve a model.
- the pipeline role (`pipeline_role_policy`, conf `project.pipeline_role_name`): what SageMaker
  Pipelines acts as. It creates the jobs (passing the job role), registers versions
  (CreateModelPackage, never UpdateModelPackage: approval is a reviewer's), reads the property files
  the gates read, and invokes the deploy handler (the Lambda steps FindXVersion and DeployX).

Every statement lists its actions (no wildcards in actions) and scopes resources to the project: its
bucket and prefix (plus the input data's bucket and prefix), the jobs SageMaker Pipelines starts
(named `pipelines-*`), its model package groups, its ECR repositories, its log groups, and the KMS key
and VPC when config sets them. The few actions AWS only authorises on `*` (ecr:GetAuthorizationToken,
cloudwatch:PutMetricData, ec2:Describe*) say so. tests/iam replays what the code and the jobs do
against these documents.
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config
from model_registry.naming import handler_function_arn

CODE_FOLDER = "code"  # <prefix>/code/<sha>/...: the content-addressed bundles upsert uploads

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
    code = f"{project_prefix}/{CODE_FOLDER}/*" if project_prefix else f"{CODE_FOLDER}/*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ProjectObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            "Resource": objects,
        },
        {
            # Cached steps trust the content-addressed bundles under code/: jobs read them, never write.
            "Sid": "CodeIsReadOnlyForJobs",
            "Effect": "Deny",
            "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{project_bucket}/{code}"],
        },
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
    """The job role's policy document: what job code and served models may do (data access only)."""
    region, account = cfg.project.region, cfg.project.account_id
    statements = [
        *_s3_statements(cfg),
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
            # ...and the drift monitoring job's own figures (containers/monitoring/outputs.py).
            "Condition": {
                "StringLike": {
                    "cloudwatch:namespace": [
                        "/aws/sagemaker/*",
                        "aws/sagemaker/*",
                        cfg.monitoring.metric_namespace,
                    ]
                }
            },
        },
    ]
    statements += _kms_statements(cfg) + _vpc_statements(cfg) + _mlflow_statements(cfg)
    return {"Version": "2012-10-17", "Statement": statements}


def pipeline_role_policy(cfg: Config) -> dict[str, Any]:
    """The pipeline role's policy document: create the jobs, register, invoke the deploy handler."""
    region, account = cfg.project.region, cfg.project.account_id
    arn = f"arn:aws:sagemaker:{region}:{account}"
    groups = [cfg.registry.chatbot_group, cfg.registry.classifier_group]
    prefix = cfg.project.prefix.strip("/")
    statements: list[dict[str, Any]] = [
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
            # CreateClassifierBatchModel: the batch transform's model (named pipelines-<execution>-...);
            # endpoints are the deploy handler's, never the pipeline's.
            "Sid": "BatchTransformModel",
            "Effect": "Allow",
            "Action": ["sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DescribeModel"],
            "Resource": [f"{arn}:model/pipelines-*"],
        },
        {
            "Sid": "RegisterVersions",
            "Effect": "Allow",
            "Action": [
                "sagemaker:AddTags",
                "sagemaker:CreateModelPackage",
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
            ],
            "Resource": [f"{arn}:model-package-group/{g}" for g in groups]
            + [f"{arn}:model-package/{g}/*" for g in groups],
        },
        {
            "Sid": "PassJobRoleToSageMaker",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [cfg.project.role_arn],
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            # FindXVersion and DeployX: the deploy handler of this environment, nothing else.
            "Sid": "InvokeDeployHandler",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [handler_function_arn(region, account, cfg.project.name, cfg.env)],
        },
        {
            # The gates' JsonGet reads the evaluation reports (property files) the jobs wrote.
            "Sid": "ReadPropertyFiles",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [
                f"arn:aws:s3:::{cfg.project.bucket}/{prefix}/*"
                if prefix
                else f"arn:aws:s3:::{cfg.project.bucket}/*"
            ],
        },
    ]
    key = cfg.security.kms_key_id
    if key:
        # CreateTrainingJob/CreateProcessingJob with a volume or output key: the caller needs a grant.
        kms = _kms_statements(cfg)[0]
        statements.append(
            {**kms, "Sid": "GrantJobsTheProjectKey", "Action": ["kms:CreateGrant", "kms:DescribeKey"]}
        )
    return {"Version": "2012-10-17", "Statement": statements}


# What containers/common/tracking.py calls through the MLflow client, recorded against MLflow's server
# (tests/iam/test_mlflow_policies.py; Service Authorization Reference, "Actions defined by Amazon
# SageMaker with MLflow": each action is named after the REST API message). Parameters, metrics and tags
# all go in CreateRun/LogBatch; artifacts go to the artifact store directly (s3:PutObject below).
MLFLOW_ACTIONS = (
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:UpdateRun",
)


def _mlflow_statements(cfg: Config) -> list[dict[str, Any]]:
    """Training and evaluation jobs log to the tracking server; artifacts go to its artifact store."""
    arn = cfg.mlflow.tracking_server_arn
    if not arn:
        return []
    statements: list[dict[str, Any]] = [
        {"Sid": "ExperimentTracking", "Effect": "Allow", "Action": list(MLFLOW_ACTIONS), "Resource": [arn]}
    ]
    store = _split_s3(cfg.mlflow.artifact_store_uri or "")
    if store:
        bucket, prefix = store
        statements.append(
            {
                "Sid": "ExperimentArtifacts",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix + '/' if prefix else ''}*"],
            }
        )
    return statements


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
