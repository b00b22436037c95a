"""Render a stack's template for a config the way CloudFormation would resolve it (for comparisons).

Imports and resource attributes take the values the stacks produce: the storage stack's bucket and KMS
key, the execution role's ARN (conf project.role_arn), ARNs built as AWS builds them.
"""

from __future__ import annotations

from typing import Any

from conf.schema import Config
from infra.parameters import stack_name, stack_parameters
from infra.template import Resolver, load_template, parameter_refs, template_path

KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-0000-4000-8000-000000000001"


def rendered(cfg: Config, stack: str) -> tuple[dict[str, Any], Resolver]:
    """(the template, a resolver for it with `cfg`'s parameters)."""
    template = load_template(template_path(stack))
    region, account, project = cfg.project.region, cfg.project.account_id, cfg.project.name
    storage, execution = stack_name(cfg, "storage"), stack_name(cfg, "execution")
    function = f"{project}-{cfg.env}-deploy-handler"
    refs = {
        **parameter_refs(template, stack_parameters(cfg, stack, "handler.zip")),
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name(cfg, stack),
    }
    attributes = {
        "Key.Arn": KMS_KEY_ARN,
        "Bucket.Arn": f"arn:aws:s3:::{cfg.project.bucket}",
        "ExecutionRole.Arn": cfg.project.role_arn,
        "HandlerFailures.Arn": f"arn:aws:sqs:{region}:{account}:{function}-failures",
        "HandlerFailures.QueueName": f"{function}-failures",
        "SchedulerRole.Arn": f"arn:aws:iam::{account}:role/{project}-{cfg.env}-scheduler",
        "DriftSchedulerRole.Arn": f"arn:aws:iam::{account}:role/{project}-{cfg.env}-drift-scheduler",
        "Handler.Arn": f"arn:aws:lambda:{region}:{account}:function:{function}",
        "HandlerRole.Arn": f"arn:aws:iam::{account}:role/{function}",
        "ApprovedRule.Arn": f"arn:aws:events:{region}:{account}:rule/{project}-{cfg.env}-model-approved",
        "RejectedRule.Arn": f"arn:aws:events:{region}:{account}:rule/{project}-{cfg.env}-model-rejected",
        "CloudFormationRole.Arn": f"arn:aws:iam::{account}:role/{project}-{cfg.env}-cloudformation",
        "MlflowServerRole.Arn": f"arn:aws:iam::{account}:role/{project}-{cfg.env}-mlflow",
        "MlflowTrackingServer.TrackingServerArn": cfg.mlflow.tracking_server_arn,
    }
    refs.update(
        {
            "Bucket": cfg.project.bucket,
            "Key": KMS_KEY_ARN.rsplit("/", 1)[1],
            "Handler": function,
            "Notifications": f"arn:aws:sns:{region}:{account}:notifications",
        }
    )
    # Any other resource's Ref: its logical id stands for its physical id.
    refs.update({logical: logical for logical in template["Resources"] if logical not in refs})
    imports = {
        f"{storage}-BucketName": cfg.project.bucket,
        f"{storage}-BucketArn": f"arn:aws:s3:::{cfg.project.bucket}",
        f"{storage}-KmsKeyArn": KMS_KEY_ARN,
        f"{execution}-ExecutionRoleArn": cfg.project.role_arn,
        f"{execution}-PipelineRoleArn": cfg.project.pipeline_role_arn,
    }
    return template, Resolver(template, refs, attributes, imports)


def properties(cfg: Config, stack: str, logical_id: str) -> dict[str, Any]:
    template, resolver = rendered(cfg, stack)
    return resolver.resolve(template["Resources"][logical_id]["Properties"])


def normalised(document: dict[str, Any]) -> dict[str, Any]:
    """IAM reads a lone string as a one-element list in Action and Resource: compare them as lists."""
    statements = []
    for statement in document["Statement"]:
        statement = dict(statement)
        for key in ("Action", "Resource"):
            if isinstance(statement.get(key), str):
                statement[key] = [statement[key]]
        statements.append(statement)
    return {**document, "Statement": statements}
