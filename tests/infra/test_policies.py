"""The stacks grant and configure exactly what the project's Python generates (one source of truth).

Each template's documents are rendered for an environment (tests/infra/rendering.py) and compared with
the generator the code uses: pipelines/iam.py for the execution role, model_registry/iam_policies.py
for the handler and the scheduler, endpoint_spec.alarm_requests for the rollback alarms (moto skips
CloudWatch alarms and Scheduler schedules, so these checks are the template's only ones), the approval
rule pattern, and the retraining schedule request.
"""

from __future__ import annotations

from typing import Any

import pytest

from conf import load_config
from conf.schema import Config
from model_registry.deploy_logic import approval_rule_pattern
from model_registry.endpoint_spec import alarm_requests
from model_registry.iam_policies import (
    deploy_handler_policy,
    drift_scheduler_policy,
    scheduler_policy,
    trust_policy,
)
from model_registry.naming import handler_function_name
from model_registry.scheduling import pipeline_arn, schedule_request
from model_registry.settings import (
    drift_schedule_access,
    handler_settings,
    monitoring_settings,
    project_groups,
    rollout_policy,
)
from pipelines.iam import execution_role_policy, pipeline_role_policy
from tests.infra.rendering import KMS_KEY_ARN, normalised, properties, rendered


def rendered_handler_arn(cfg: Config) -> str:
    _, resolver = rendered(cfg, "operations")
    return resolver.resolve({"Fn::GetAtt": ["Handler", "Arn"]})


def deployed(env: str, **overrides: Any) -> Config:
    """The environment's config as it reads once `make deploy-infra` wrote the key back."""
    return load_config(env, overrides={"security": {"kms_key_id": KMS_KEY_ARN}, **overrides})


def template_execution_policy(cfg: Config) -> dict[str, Any]:
    """The execution role's permissions in the stack: the main policy plus the VPC one when it applies."""
    template, resolver = rendered(cfg, "execution")
    resources = template["Resources"]
    document = resolver.resolve(resources["ExecutionPolicy"]["Properties"]["PolicyDocument"])
    for extra in ("VpcPolicy", "MlflowPolicy"):  # in execution_role_policy()'s order
        if resolver.conditions[resources[extra]["Condition"]]:
            more = resolver.resolve(resources[extra]["Properties"]["PolicyDocument"])
            document["Statement"] += more["Statement"]
    return normalised(document)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_execution_role_policy_in_the_stack_is_the_generated_one(env: str) -> None:
    cfg = deployed(env)
    assert template_execution_policy(cfg) == normalised(execution_role_policy(cfg))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_pipeline_role_policy_in_the_stack_is_the_generated_one(env: str) -> None:
    cfg = deployed(env)
    template, resolver = rendered(cfg, "execution")
    resources = template["Resources"]
    document = resolver.resolve(resources["PipelinePolicy"]["Properties"]["PolicyDocument"])
    assert normalised(document) == normalised(pipeline_role_policy(cfg))
    role = resources["PipelineRole"]["Properties"]["RoleName"]
    assert resolver.resolve(role) == cfg.project.pipeline_role_name


def test_execution_role_policy_matches_in_a_vpc_too() -> None:
    cfg = deployed(
        "prod",
        security={
            "kms_key_id": KMS_KEY_ARN,
            "subnets": ["subnet-0a1", "subnet-0b2"],
            "security_group_ids": ["sg-0c3"],
        },
    )
    policy = template_execution_policy(cfg)
    assert policy == normalised(execution_role_policy(cfg))
    assert "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0b2" in policy["Statement"][-1]["Resource"]


def test_a_changed_generator_is_caught() -> None:
    """The comparison is sensitive: one more action in the generated policy is a difference."""
    cfg = deployed("dev")
    generated = execution_role_policy(cfg)
    generated["Statement"][0]["Action"].append("s3:DeleteObject")
    assert template_execution_policy(cfg) != normalised(generated)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_handler_role_policy_in_the_stack_is_the_generated_one(env: str) -> None:
    cfg = deployed(env)
    settings = handler_settings(cfg)
    expected = deploy_handler_policy(
        cfg.project.region,
        cfg.project.account_id,
        project_groups(cfg),
        [t.endpoint_name for t in settings.targets.values()],
        cfg.project.role_arn,
        handler_function_name(cfg.project.name, cfg.env),
        KMS_KEY_ARN,
        **drift_schedule_access(cfg),
    )
    role = properties(cfg, "operations", "HandlerRole")
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in role["Policies"]}
    assert normalised(policies["deploy-handler"]) == normalised(expected)
    assert role["AssumeRolePolicyDocument"] == trust_policy("lambda.amazonaws.com")
    # The stack's only addition: the on-failure destination, which the imperative path never had.
    [send] = policies["on-failure-destination"]["Statement"]
    assert send["Action"] == ["sqs:SendMessage"] and send["Resource"].endswith("deploy-handler-failures")


def test_scheduler_role_and_schedule_are_the_generated_ones() -> None:
    cfg = deployed("prod")
    role = properties(cfg, "operations", "SchedulerRole")
    [policy] = role["Policies"]
    assert normalised(policy["PolicyDocument"]) == normalised(scheduler_policy(pipeline_arn(cfg)))
    assert role["AssumeRolePolicyDocument"] == trust_policy("scheduler.amazonaws.com", cfg.project.account_id)

    role_arn = f"arn:aws:iam::{cfg.project.account_id}:role/{role['RoleName']}"
    # moto skips AWS::Scheduler::Schedule: the template is checked against the request the code builds.
    assert properties(cfg, "operations", "RetrainSchedule") == schedule_request(cfg, role_arn)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_drift_scheduler_role_is_the_generated_one(env: str) -> None:
    """The role the deploy handler's drift schedules run as (monitoring_schedule.py names it; the
    handler may pass it, and only it, to the Scheduler): it may invoke the handler, nothing else."""
    cfg = deployed(env)
    role = properties(cfg, "operations", "DriftSchedulerRole")
    monitoring = monitoring_settings(cfg)
    assert f"arn:aws:iam::{cfg.project.account_id}:role/{role['RoleName']}" == monitoring.scheduler_role_arn
    [policy] = role["Policies"]
    expected = drift_scheduler_policy(monitoring.handler_function_arn)
    assert normalised(policy["PolicyDocument"]) == normalised(expected)
    # The schedules' target is the stack's handler (the ARN the stack builds is the function's).
    assert monitoring.handler_function_arn == rendered_handler_arn(cfg)
    assert role["AssumeRolePolicyDocument"] == trust_policy("scheduler.amazonaws.com", cfg.project.account_id)


def test_schedule_is_disabled_unless_config_enables_it() -> None:
    assert properties(deployed("dev"), "operations", "RetrainSchedule")["State"] == "DISABLED"
    assert properties(deployed("prod"), "operations", "RetrainSchedule")["State"] == "ENABLED"


@pytest.mark.parametrize("rule, status", [("ApprovedRule", "Approved"), ("RejectedRule", "Rejected")])
def test_rule_patterns_are_the_generated_ones(rule: str, status: str) -> None:
    cfg = deployed("dev")
    pattern = properties(cfg, "operations", rule)["EventPattern"]
    pattern["detail"]["ModelPackageGroupName"].sort()
    assert pattern == approval_rule_pattern(project_groups(cfg), status)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rollback_alarms_are_the_generated_ones(env: str) -> None:
    """moto skips AWS::CloudWatch::Alarm: the template is the only place to check them."""
    cfg = deployed(env)
    template, resolver = rendered(cfg, "operations")
    in_stack = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            alarm = resolver.resolve(resource["Properties"])
            alarm.pop("AlarmActions")  # the stack also notifies the topic
            alarm["Threshold"] = float(alarm["Threshold"])
            in_stack[alarm["AlarmName"]] = alarm
    for target in handler_settings(cfg).targets.values():
        for request in alarm_requests(target.endpoint_name, rollout_policy(cfg)):
            assert in_stack[request["AlarmName"]] == request


def _imports(node: Any) -> list[Any]:
    """Every Fn::ImportValue argument in a template fragment."""
    if isinstance(node, dict):
        found = [node["Fn::ImportValue"]] if "Fn::ImportValue" in node else []
        return found + [i for value in node.values() for i in _imports(value)]
    if isinstance(node, list):
        return [i for item in node for i in _imports(item)]
    return []


def test_every_stack_imports_only_what_a_stack_before_it_exports() -> None:
    cfg = load_config("dev", overrides={"delivery": {"github_repository": "example-org/stranger-things-nlp"}})
    exported: set[str] = set()
    for stack in ("storage", "execution", "operations", "delivery"):
        template, resolver = rendered(cfg, stack)
        imported = {resolver.resolve(name) for name in _imports(template["Resources"])}
        assert imported <= exported, f"{stack} imports {sorted(imported - exported)} before they exist"
        for output in template.get("Outputs", {}).values():
            if "Export" in output:
                exported.add(resolver.resolve(output["Export"]["Name"]))
    # bucket name and ARN, key ARN, job (execution) and pipeline role ARNs, notifications topic
    assert len(exported) == 6
