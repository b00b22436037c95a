"""Every stack under moto: created and updated through change sets, used by the approval flow, destroyed.

moto stands in for CloudFormation and the services behind it (tests/infra/conftest.py completes its
change sets and teaches it model package groups). What moto skips is checked on the templates
(test_templates.py, test_policies.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml

from conf import load_config
from infra.apply import AccountMismatch, BucketHoldsData, deploy_environment, destroy_environment
from infra.deploy import Change
from model_registry import lambda_handler
from model_registry.dashboard import dashboard_body
from model_registry.lambda_bundle import HANDLER, build_zip, sha256_b64
from model_registry.settings import handler_settings
from tests.infra.conftest import ACCOUNT, BUCKET, KMS_ARN_PREFIX, REGION
from tests.model_registry.conftest import moto_answers, register_package, sagemaker_event

pytestmark = [
    pytest.mark.aws,
    # moto warns for each type it skips; test_templates.py checks those on the templates instead.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS:UserWarning"),
]

STACKS = [f"stranger-things-nlp-dev-{s}" for s in ("storage", "execution", "operations", "delivery")]
FUNCTION = "stranger-things-nlp-dev-deploy-handler"
CLASSIFIER = "stranger-things-location-classifier"


def yes(stack: str, changes: list[Change]) -> bool:
    return True


def deploy(aws: boto3.session.Session, conf_dir: Path, **kwargs) -> list:
    return deploy_environment("dev", aws, yes, conf_dir=conf_dir, **kwargs)


def test_every_stack_creates_through_a_change_set(aws, conf_dir: Path) -> None:
    results = deploy(aws, conf_dir)

    assert [(r.stack, r.change_set_type, r.executed) for r in results] == [
        (s, "CREATE", True) for s in STACKS
    ]
    assert all(r.changes and all(c.action == "Add" for c in r.changes) for r in results)
    storage = results[0].outputs
    assert storage["KmsKeyArn"].startswith(KMS_ARN_PREFIX) and storage["BucketName"] == BUCKET

    # The key's ARN flowed back into the environment's config, reviewable in conf/outputs/dev.yaml.
    written = (conf_dir / "outputs" / "dev.yaml").read_text()
    assert "make infra-outputs" in written
    assert load_config("dev", conf_dir).security.kms_key_id == storage["KmsKeyArn"]

    s3 = aws.client("s3")
    [rule] = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == storage["KmsKeyArn"]
    assert aws.client("kms").get_key_rotation_status(KeyId=storage["KmsKeyArn"])["KeyRotationEnabled"]

    iam = aws.client("iam")
    role = "StrangerThingsNlpSageMakerExecution"
    [attached] = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    assert attached["PolicyName"] == f"{role}-policy"
    repos = aws.client("ecr").describe_repositories()["repositories"]
    assert sorted((r["repositoryName"], r["imageTagMutability"]) for r in repos) == [
        (f"stranger-things-nlp-{role}", "IMMUTABLE") for role in ("inference", "processing", "training")
    ]
    groups = aws.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert sorted(g["ModelPackageGroupName"] for g in groups) == ["stranger-things-chatbot", CLASSIFIER]
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} >= {
        "stranger-things-nlp-dev-github-deploy",
        "stranger-things-nlp-dev-github-preview",
        "stranger-things-nlp-dev-cloudformation",
        "stranger-things-nlp-dev-scheduler",
        FUNCTION,
    }
    # The environment's dashboard, as CloudWatch holds it, is the one model_registry generates.
    stored = aws.client("cloudwatch").get_dashboard(DashboardName="stranger-things-nlp-dev")
    assert json.loads(stored["DashboardBody"]) == dashboard_body(load_config("dev", conf_dir))


def test_the_handler_is_the_uploaded_bundle_with_the_configs_settings(aws, conf_dir: Path) -> None:
    deploy(aws, conf_dir)
    function = aws.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    assert function["Handler"] == HANDLER and function["Timeout"] == lambda_handler.TIMEOUT_S
    assert function["CodeSha256"] == sha256_b64(build_zip())
    assert function["Role"] == f"arn:aws:iam::{ACCOUNT}:role/{FUNCTION}"
    shipped = json.loads(function["Environment"]["Variables"][lambda_handler.SETTINGS_ENV])
    assert shipped == json.loads(handler_settings(load_config("dev", conf_dir)).to_json())
    assert shipped["kms_key_id"].startswith(KMS_ARN_PREFIX)  # the storage stack's key, via conf outputs

    events = aws.client("events")
    for rule in ("stranger-things-nlp-dev-model-approved", "stranger-things-nlp-dev-model-rejected"):
        [target] = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert target["Arn"] == function["FunctionArn"]
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
        assert target["DeadLetterConfig"]["Arn"].endswith(f":{FUNCTION}-failures")
    policy = json.loads(aws.client("lambda").get_policy(FunctionName=FUNCTION)["Policy"])
    assert sorted(
        s["Condition"]["ArnLike"]["AWS:SourceArn"].rsplit("/", 1)[1] for s in policy["Statement"]
    ) == [
        "stranger-things-nlp-dev-model-approved",
        "stranger-things-nlp-dev-model-rejected",
    ]


def test_deploying_again_changes_nothing_and_a_config_change_updates_through_a_change_set(
    aws, conf_dir: Path
) -> None:
    deploy(aws, conf_dir)
    again = deploy(aws, conf_dir)
    assert [(r.change_set_type, r.changes, r.executed) for r in again] == [("UPDATE", [], False)] * 4

    with (conf_dir / "dev.yaml").open("a", encoding="utf-8") as handle:
        handle.write("deployment:\n  wait_interval_s: 120\n")
    updated = deploy(aws, conf_dir, only=["operations"])
    assert [(r.stack, r.change_set_type, r.executed) for r in updated] == [(STACKS[2], "UPDATE", True)]
    variables = aws.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]["Environment"]
    assert (
        json.loads(variables["Variables"][lambda_handler.SETTINGS_ENV])["rollout"]["wait_interval_s"] == 120
    )


def test_the_approval_flow_runs_on_what_the_stacks_made(
    aws, conf_dir: Path, lambda_deliveries: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registry group, rule (pattern and target) and handler settings all come from the stacks: the
    approval event goes through the stack-made rule to the stack-made function, whose settings the
    handler runs with (moto records the Lambda delivery instead of running a container)."""
    deploy(aws, conf_dir)
    events = aws.client("events")

    arn = register_package(aws, CLASSIFIER, {"accuracy": 0.81}, bucket=BUCKET)  # the stack-made group
    aws.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    event = sagemaker_event(aws, arn)
    sent = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Resources": event["resources"],
        "Detail": json.dumps(event["detail"]),
    }
    assert events.put_events(Entries=[sent])["FailedEntryCount"] == 0
    function = aws.client("lambda").get_function(FunctionName=FUNCTION)["Configuration"]
    [(target, delivered)] = lambda_deliveries  # the approved rule only; the rejected one did not match
    assert target == function["FunctionArn"]
    settings = function["Environment"]["Variables"][lambda_handler.SETTINGS_ENV]
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, settings)
    # The serverless canary's answer, from moto's backend of the account the stacks are in.
    moto_answers(json.dumps({"predictions": [{"label": "Hawkins Lab"}]}), account=ACCOUNT)
    decision = lambda_handler.handler(delivered, None)

    assert decision["action"] == "deploy" and decision["version"] == 1
    sm = aws.client("sagemaker")
    endpoint = sm.describe_endpoint(EndpointName="stranger-things-nlp-dev-classifier")
    config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == arn
    assert model["ExecutionRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/StrangerThingsNlpSageMakerExecution"
    # dev's classifier is serverless: no instance volume, so no KmsKeyId on its config; the stack's key
    # reached the handler's settings (instance endpoints, the chatbot's, carry it).
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] == 5
    assert "KmsKeyId" not in config
    assert json.loads(settings)["kms_key_id"].startswith(KMS_ARN_PREFIX)


def test_a_preview_changes_nothing(aws, conf_dir: Path) -> None:
    asked: list[str] = []
    results = deploy_environment(
        "dev", aws, lambda stack, changes: asked.append(stack) or True, execute=False, conf_dir=conf_dir
    )
    # Before the first deploy every stack would be created: the template's resources are listed.
    assert [(r.change_set_type, r.executed) for r in results] == [("CREATE", False)] * 4
    assert [c.logical_id for c in results[0].changes] == ["Key", "KeyAlias", "Bucket", "BucketPolicy"]
    assert asked == []
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_a_preview_of_deployed_stacks_shows_a_change_set_and_leaves_none(aws, conf_dir: Path) -> None:
    deploy(aws, conf_dir)
    with (conf_dir / "dev.yaml").open("a", encoding="utf-8") as handle:
        handle.write("schedule:\n  enabled: true\n  cron: cron(0 4 ? * SUN *)\n")
    [result] = deploy_environment("dev", aws, yes, execute=False, only=["operations"], conf_dir=conf_dir)
    assert result.change_set_type == "UPDATE" and not result.executed
    cfn = aws.client("cloudformation")
    pending = [
        c
        for c in cfn.list_change_sets(StackName=STACKS[2])["Summaries"]
        if c["StackName"] == STACKS[2] and c["ExecutionStatus"] == "AVAILABLE"
    ]
    assert pending == []  # the preview's change set was deleted (moto also lists executed ones)
    [stack] = cfn.describe_stacks(StackName=STACKS[2])["Stacks"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["ScheduleState"] == "DISABLED"  # unchanged until a deploy


def test_destroy_refuses_while_the_bucket_holds_data_then_deletes_when_told(aws, conf_dir: Path) -> None:
    deploy(aws, conf_dir)
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="stranger-things-nlp/data/raw/s1e1.srt", Body=b"1")

    with pytest.raises(BucketHoldsData, match=r"stranger-things-nlp/data/raw/s1e1\.srt.*DELETE_DATA=1"):
        destroy_environment("dev", aws, lambda stacks: True, conf_dir=conf_dir)
    assert len(aws.client("cloudformation").describe_stacks()["Stacks"]) == 4  # nothing deleted

    deleted = destroy_environment("dev", aws, lambda stacks: True, delete_data=True, conf_dir=conf_dir)
    assert deleted == list(reversed(STACKS))
    assert s3.list_buckets()["Buckets"] == []
    assert aws.client("lambda").list_functions()["Functions"] == []


def test_destroy_goes_ahead_when_only_rebuildable_objects_remain(aws, conf_dir: Path) -> None:
    deploy(aws, conf_dir)  # leaves the handler zip under <prefix>/infra/
    assert destroy_environment("dev", aws, lambda stacks: True, conf_dir=conf_dir) == list(reversed(STACKS))


def test_credentials_of_another_account_are_refused(aws, conf_dir: Path) -> None:
    overlay = yaml.safe_load((conf_dir / "dev.yaml").read_text())
    overlay["project"]["account_id"] = "111122223333"
    (conf_dir / "dev.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    with pytest.raises(AccountMismatch, match=rf"set project\.account_id to {ACCOUNT}"):
        deploy(aws, conf_dir)


def test_region_is_the_configs() -> None:
    assert load_config("dev").project.region == REGION


def test_jobs_moved_into_a_vpc_update_the_execution_stack(aws, conf_dir: Path) -> None:
    """A config change to the execution role goes through an UPDATE change set: subnets in conf add the
    conditional VPC policy to the role, with one ARN per subnet and security group."""
    deploy(aws, conf_dir)
    overlay = yaml.safe_load((conf_dir / "dev.yaml").read_text())
    overlay["security"] = {"subnets": ["subnet-0a1", "subnet-0b2"], "security_group_ids": ["sg-0c3"]}
    del overlay["classifier"]["serving"]["serverless"]  # a serverless endpoint cannot run in a VPC
    (conf_dir / "dev.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")

    [result] = deploy(aws, conf_dir, only=["execution"])

    assert (result.change_set_type, result.executed) == ("UPDATE", True)
    iam = aws.client("iam")
    role = "StrangerThingsNlpSageMakerExecution"
    attached = {
        p["PolicyName"]: p["PolicyArn"]
        for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    }
    assert sorted(attached) == [f"{role}-policy", f"{role}-vpc-policy"]
    version = iam.get_policy(PolicyArn=attached[f"{role}-vpc-policy"])["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=attached[f"{role}-vpc-policy"], VersionId=version)
    interfaces = document["PolicyVersion"]["Document"]["Statement"][1]["Resource"]
    assert interfaces == [
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0b2",
        f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0c3",
    ]
