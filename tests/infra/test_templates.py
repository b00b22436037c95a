"""What the templates declare, checked on the templates themselves.

moto skips or drops these (shared notes: infra-ui-monitoring.md), so a moto stack cannot show them:
bucket versioning, public access block, lifecycle and the TLS-only bucket policy (S3::BucketPolicy
skipped), ECR scan on push (dropped), CloudWatch alarms, the schedule, the OIDC provider, the queue
policy and the handler's on-failure destination (skipped). Also: parameters generated from conf fit
each template exactly, and no policy anywhere uses a wildcard action.
"""

from __future__ import annotations

from typing import Any

import pytest

from conf import load_config
from conf.schema import Config
from infra.parameters import STACKS, InfraConfigError, stack_parameters
from infra.template import load_template, template_path
from model_registry.monitoring_schedule import manifest_prefix
from model_registry.settings import handler_settings, monitoring_settings
from tests.infra.rendering import KMS_KEY_ARN, properties, rendered


@pytest.fixture(scope="module")
def prod() -> Config:
    return load_config(
        "prod", overrides={"delivery": {"github_repository": "example-org/stranger-things-nlp"}}
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("stack", STACKS)
def test_generated_parameters_fit_the_template(env: str, stack: str) -> None:
    cfg = load_config(env, overrides={"delivery": {"github_repository": "example-org/stranger-things-nlp"}})
    declared = load_template(template_path(stack))["Parameters"]
    given = stack_parameters(cfg, stack, "handler.zip")
    assert set(given) <= set(declared), f"unknown to {stack}.yaml: {sorted(set(given) - set(declared))}"
    required = {name for name, spec in declared.items() if "Default" not in spec}
    assert required <= set(given), f"{stack}.yaml needs {sorted(required - set(given))}"
    assert all(isinstance(value, str) for value in given.values())


def test_data_outside_the_project_prefix_is_refused_with_what_to_do() -> None:
    cfg = load_config("dev", overrides={"data": {"input_uri": "s3://another-bucket/raw"}})
    with pytest.raises(
        InfraConfigError,
        match="outside s3://stranger-things-nlp-artifacts/stranger-things-nlp/: the execution stack",
    ):
        stack_parameters(cfg, "execution")


def test_delivery_needs_the_repository() -> None:
    with pytest.raises(InfraConfigError, match=r"delivery\.github_repository is not set in conf/dev\.yaml"):
        stack_parameters(load_config("dev"), "delivery")


def test_bucket_is_encrypted_versioned_private_and_expires_run_outputs_and_capture(prod: Config) -> None:
    bucket = properties(prod, "storage", "Bucket")
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == KMS_KEY_ARN  # the stack's key
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    prefixes = {r["Id"]: r.get("Prefix") for r in bucket["LifecycleConfiguration"]["Rules"]}
    # The capture prefix is where the handler and the pipeline write capture (settings.py).
    capture = handler_settings(prod).data_capture_s3_uri.removeprefix(f"s3://{prod.project.bucket}/")
    assert prefixes["ExpireDataCapture"] == f"{capture}/"
    assert prefixes["ExpireRunOutputs"] == "stranger-things-nlp/prod/runs/"
    # Where the drift firings write their manifests (drift_run / monitoring_schedule).
    assert prefixes["ExpireDriftManifests"] == f"{manifest_prefix(monitoring_settings(prod))}/"


def test_bucket_policy_denies_every_request_without_tls(prod: Config) -> None:
    [statement] = properties(prod, "storage", "BucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert {"s3:GetObject", "s3:PutObject", "s3:ListBucket"} <= set(statement["Action"])
    assert statement["Resource"] == [
        "arn:aws:s3:::stranger-things-nlp-artifacts",
        "arn:aws:s3:::stranger-things-nlp-artifacts/*",
    ]


def test_key_rotates_and_keeps_the_configured_alias(prod: Config) -> None:
    assert properties(prod, "storage", "Key")["EnableKeyRotation"] is True
    assert properties(prod, "storage", "KeyAlias")["AliasName"] == prod.security.kms_key_id  # alias/...


@pytest.mark.parametrize("repository", ["ProcessingImages", "TrainingImages", "InferenceImages"])
def test_repositories_are_immutable_scanned_and_pruned(prod: Config, repository: str) -> None:
    repo = properties(prod, "execution", repository)
    assert repo["ImageTagMutability"] == "IMMUTABLE"
    assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert (
        '"countType": "imageCountMoreThan", "countNumber": 20'
        in repo["LifecyclePolicy"]["LifecyclePolicyText"]
    )


def test_handler_failures_go_to_a_queue_and_notify(prod: Config) -> None:
    invoke = properties(prod, "operations", "HandlerInvokeConfig")
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":stranger-things-nlp-prod-deploy-handler-failures"
    )
    [statement] = properties(prod, "operations", "HandlerFailuresPolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        "arn:aws:events:us-east-1:123456789012:rule/stranger-things-nlp-prod-model-approved",
        "arn:aws:events:us-east-1:123456789012:rule/stranger-things-nlp-prod-model-rejected",
    ]
    errors = properties(prod, "operations", "HandlerErrorsAlarm")
    assert errors["MetricName"] == "Errors" and errors["AlarmActions"]
    assert errors["Dimensions"] == [
        {"Name": "FunctionName", "Value": "stranger-things-nlp-prod-deploy-handler"}
    ]
    # An event the handler gave up on (after Lambda's own retries) waits in the queue: that alarms too.
    failed = properties(prod, "operations", "HandlerFailuresAlarm")
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert failed["Dimensions"] == [
        {"Name": "QueueName", "Value": "stranger-things-nlp-prod-deploy-handler-failures"}
    ]
    assert failed["AlarmActions"] == errors["AlarmActions"]


def test_github_roles_trust_one_repository_environment_or_pull_requests(prod: Config) -> None:
    provider = properties(prod, "delivery", "GitHubOidc")
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    subjects = {}
    for role in ("DeployRole", "PreviewRole"):
        [statement] = properties(prod, "delivery", role)["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        condition = statement["Condition"]["StringEquals"]
        assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
        subjects[role] = condition["token.actions.githubusercontent.com:sub"]
    assert subjects == {
        "DeployRole": "repo:example-org/stranger-things-nlp:environment:prod",
        "PreviewRole": "repo:example-org/stranger-things-nlp:pull_request",
    }


def test_no_user_or_access_key_anywhere() -> None:
    for stack in STACKS:
        types = {r["Type"] for r in load_template(template_path(stack))["Resources"].values()}
        assert not types & {"AWS::IAM::User", "AWS::IAM::AccessKey"}, stack


def _statements(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = list(node["Statement"]) if isinstance(node.get("Statement"), list) else []
        return found + [s for value in node.values() for s in _statements(value)]
    if isinstance(node, list):
        return [s for item in node for s in _statements(item)]
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_names_its_actions(prod: Config, stack: str) -> None:
    template, resolver = rendered(prod, stack)
    statements = _statements(resolver.resolve(template["Resources"]))
    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if "*" in a], statement.get("Sid")


def test_no_role_attaches_managed_policies_by_arn() -> None:
    """moto drops Role.ManagedPolicyArns; the templates attach through ManagedPolicy.Roles instead."""
    for stack in STACKS:
        for resource in load_template(template_path(stack))["Resources"].values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in resource["Properties"]
