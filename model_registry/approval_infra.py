"""`make deploy-approval-handler ENV=...`: the Lambda, its role, the rules and the rollback alarms.

Creates or updates, idempotently:
- IAM role `<project>-<env>-deploy-handler` (trust: Lambda, this account) with the inline policy from
  `iam_policies.deploy_handler_policy`;
- Lambda `<project>-<env>-deploy-handler` from `lambda_bundle.build_zip()`, settings in its environment;
- EventBridge rules `<project>-<env>-model-approved` / `-model-rejected` on "SageMaker Model Package
  State Change" for the project's groups only, each targeting the Lambda, plus the invoke permission;
- CloudWatch alarms (5XX, latency) per endpoint, which the blue/green update rolls back on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from conf.schema import Config
from model_registry.deploy_logic import EVENT_DETAIL_TYPE, EVENT_SOURCE
from model_registry.endpoint_spec import alarm_requests
from model_registry.iam_policies import deploy_handler_policy, trust_policy
from model_registry.iam_roles import ensure_role
from model_registry.lambda_bundle import HANDLER, build_zip, sha256_b64
from model_registry.lambda_handler import SETTINGS_ENV, TIMEOUT_S
from model_registry.naming import approval_rule_names, handler_function_name
from model_registry.settings import handler_settings, project_groups

LOG = logging.getLogger(__name__)

RUNTIME = "python3.12"
POLICY_NAME = "deploy-handler"
ROLE_PROPAGATION_TRIES = 10


def approval_rule_pattern(groups: list[str], status: str) -> dict[str, Any]:
    """Model package state changes of `groups` whose approval status is `status`; nothing else."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [EVENT_DETAIL_TYPE],
        "detail": {"ModelPackageGroupName": sorted(groups), "ModelApprovalStatus": [status]},
    }


def _create_function(lam: Any, request: dict[str, Any], sleep: Callable[[float], None]) -> dict[str, Any]:
    """CreateFunction, waiting out IAM propagation of a role created seconds ago."""
    for attempt in range(1, ROLE_PROPAGATION_TRIES + 1):
        try:
            return lam.create_function(**request)
        except ClientError as error:
            propagating = "cannot be assumed" in str(error) or "role defined" in str(error)
            if not propagating or attempt == ROLE_PROPAGATION_TRIES:
                raise
            LOG.info("role not usable by Lambda yet (attempt %d); waiting", attempt)
            sleep(3.0)
    raise AssertionError("unreachable")


def ensure_function(
    lam: Any,
    name: str,
    role_arn: str,
    code: bytes,
    environment: dict[str, str],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Create the function or update its code and configuration; returns {'arn', 'code_sha256'}."""
    config = {
        "Role": role_arn,
        "Handler": HANDLER,
        "Runtime": RUNTIME,
        "Timeout": TIMEOUT_S,
        "MemorySize": 256,
        "Environment": {"Variables": environment},
        "Description": "Deploys approved model packages blue/green; rolls back rejected live versions",
    }
    try:
        lam.get_function(FunctionName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        created = _create_function(lam, {"FunctionName": name, "Code": {"ZipFile": code}, **config}, sleep)
        return {"arn": created["FunctionArn"], "code_sha256": created["CodeSha256"]}
    lam.update_function_code(FunctionName=name, ZipFile=code)
    lam.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
    )
    updated = lam.update_function_configuration(FunctionName=name, **config)
    return {"arn": updated["FunctionArn"], "code_sha256": updated["CodeSha256"]}


def ensure_rule(
    events: Any, lam: Any, rule_name: str, pattern: dict, function_arn: str, function: str
) -> str:
    """The rule, its Lambda target and the permission for EventBridge to invoke the function."""
    rule_arn = events.put_rule(
        Name=rule_name,
        EventPattern=json.dumps(pattern),
        State="ENABLED",
        Description="Model package approval changes of this project's groups -> deploy handler",
    )["RuleArn"]
    events.put_targets(
        Rule=rule_name,
        Targets=[
            {
                "Id": "deploy-handler",
                "Arn": function_arn,
                "RetryPolicy": {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600},
            }
        ],
    )
    statement_id = f"invoke-from-{rule_name}"
    try:  # re-adding an existing statement id fails on AWS: replace it instead
        lam.remove_permission(FunctionName=function, StatementId=statement_id)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    lam.add_permission(
        FunctionName=function,
        StatementId=statement_id,
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    return rule_arn


def deploy_approval_handler(cfg: Config, session: Any, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Create or update everything the approval -> deploy path needs; returns what it made."""
    project, env = cfg.project, cfg.env
    settings = handler_settings(cfg)
    function = handler_function_name(project.name, env)
    groups = project_groups(cfg)
    endpoints = [t.endpoint_name for t in settings.targets.values()]
    policy = deploy_handler_policy(
        project.region,
        project.account_id,
        groups,
        endpoints,
        project.role_arn,
        function,
        cfg.security.kms_key_id,
    )
    iam = session.client("iam")
    role_arn = ensure_role(
        iam, function, trust_policy("lambda.amazonaws.com"), POLICY_NAME, policy, settings.tags
    )
    lam = session.client("lambda")
    code = build_zip()
    created = ensure_function(lam, function, role_arn, code, {SETTINGS_ENV: settings.to_json()}, sleep)
    if created["code_sha256"] != sha256_b64(code):
        raise RuntimeError(
            f"Lambda {function} reports code {created['code_sha256']}, not the bundle just sent"
        )
    events = session.client("events")
    rules = {
        status: ensure_rule(
            events, lam, rule, approval_rule_pattern(groups, status), created["arn"], function
        )
        for status, rule in approval_rule_names(project.name, env).items()
    }
    cloudwatch = session.client("cloudwatch")
    alarms = []
    for endpoint in endpoints:
        for request in alarm_requests(endpoint, settings.rollout):
            cloudwatch.put_metric_alarm(**request)
            alarms.append(request["AlarmName"])
    return {
        "role": role_arn,
        "function": created["arn"],
        "code_sha256": created["code_sha256"],
        "rules": rules,
        "groups": groups,
        "endpoints": endpoints,
        "alarms": alarms,
    }
