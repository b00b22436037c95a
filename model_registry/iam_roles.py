"""Create or update an IAM role with one inline policy (idempotent)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError


def ensure_role(
    iam: Any, name: str, trust: dict, policy_name: str, policy: dict, tags: dict[str, str]
) -> str:
    """Create the role or bring its trust and inline policy up to date; returns its ARN."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchEntity":
            raise
        arn = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    return arn
