"""Fixtures for the stack tests: moto with change sets that behave like CloudFormation's.

moto 5.2.5 executes a change set's resources but (1) resolves Fn::ImportValue against no exports when
the change set creates the stack, (2) never publishes the executed stack's outputs and exports, and (3)
keeps the old parameters and template after an UPDATE change set, so the next identical change set
is not recognised as empty. `moto_change_sets` completes execute_change_set with what create_stack and
update_stack already do in moto (shared notes: infra-ui-monitoring.md). Nothing else is changed.
`moto_managed_policy_deletion` lets moto delete a stack's managed policy (it cannot otherwise, and then
cannot delete the role either).

moto skips AWS::SageMaker::ModelPackageGroup silently; `moto_model_package_groups` registers a model
for it (creating the group in moto's SageMaker), so the approval flow runs on the stack-made groups.
The other skipped types (BucketPolicy, Alarm, Scheduler::Schedule, OIDCProvider, QueuePolicy,
EventInvokeConfig) are asserted on the template in test_templates.py / test_policies.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from conf import CONF_DIR, load_config
from conf.schema import Config

REGION = "us-east-1"
# An account and bucket of one's own: the AWS-calling commands refuse base.yaml's placeholders
# (123456789012 is also moto's default account), so `aws` makes moto answer as this account.
ACCOUNT = "210987654321"
BUCKET = "my-team-st-nlp"
OWN_PROJECT = {
    "project": {"account_id": ACCOUNT, "bucket": BUCKET},
    "data": {"input_uri": f"s3://{BUCKET}/stranger-things-nlp/data/raw"},
}
KMS_ARN_PREFIX = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"


@pytest.fixture
def moto_change_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        # The newest change set of that name (moto keeps executed ones; names repeat across stacks).
        change_set = [
            cs
            for arn, cs in self.change_sets.items()
            if change_set_name in (arn, cs.change_set_name) and stack_name in (None, cs.stack_name)
        ][-1]
        stack = self.stacks[change_set.stack_id]
        stack.cross_stack_resources = self.exports  # (1): imports see the exports of earlier stacks
        stack.resource_map.cross_stack_resources = self.exports
        stale = [export.name for export in stack.exports]
        original(self, change_set_name, stack_name)
        stack._parse_template()
        stack.output_map = stack._create_output_map()  # (2): outputs and exports, as create_stack does
        for name in stale:
            self.exports.pop(name, None)
        for export in stack.exports:
            self.exports[export.name] = export
        stack.parameters = change_set.parameters  # (3)
        stack.description = stack.template_dict.get("Description")

    monkeypatch.setattr(CloudFormationBackend, "execute_change_set", execute_change_set)


class _ModelPackageGroup:
    """A CloudFormation model for AWS::SageMaker::ModelPackageGroup over moto's SageMaker backend."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SageMaker::ModelPackageGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ModelPackageGroupName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str, **_: Any
    ) -> _ModelPackageGroup:
        from moto.sagemaker.models import sagemaker_backends

        props = cloudformation_json["Properties"]
        sagemaker_backends[account_id][region_name].create_model_package_group(
            props["ModelPackageGroupName"], props.get("ModelPackageGroupDescription", ""), props.get("Tags")
        )
        return cls(props["ModelPackageGroupName"])

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str
    ) -> None:
        from moto.sagemaker.models import sagemaker_backends

        sagemaker_backends[account_id][region_name].model_package_groups.pop(resource_name, None)


@pytest.fixture
def moto_model_package_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.cloudformation.parsing import get_model_map

    monkeypatch.setitem(get_model_map(), _ModelPackageGroup.cloudformation_type(), _ModelPackageGroup)


@pytest.fixture
def lambda_deliveries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """moto's EventBridge raises NotImplementedError for Lambda targets; record (function ARN, event)
    instead, as Lambda would receive it, and deliver to the other targets as moto does."""
    from moto.events.models import Rule

    original = Rule.send_to_targets
    delivered: list[tuple[str, dict[str, Any]]] = []

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        functions = [t for t in self.targets if ":lambda:" in t["Arn"]]
        delivered.extend((t["Arn"], dict(original_event)) for t in functions)
        others = [t for t in self.targets if t not in functions]
        kept, self.targets = self.targets, others
        try:
            original(self, original_event, transform_input)
        finally:
            self.targets = kept

    monkeypatch.setattr(Rule, "send_to_targets", send_to_targets)
    return delivered


@pytest.fixture
def moto_managed_policy_deletion(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto cannot delete an IAM::ManagedPolicy of a stack (no delete for the type), so the role it is
    attached to cannot go either (DeleteConflict). CloudFormation detaches, then deletes: do the same."""
    from moto.iam.models import ManagedPolicy

    def delete(self: Any, account_id: str, region_name: str) -> None:
        for role in list(self.backend.roles.values()):
            if self.arn in role.managed_policies:
                self.backend.detach_role_policy(self.arn, role.name)
        self.backend.delete_policy(self.arn)

    monkeypatch.setattr(ManagedPolicy, "delete", delete, raising=False)


@pytest.fixture
def aws(
    moto_change_sets: None,
    moto_model_package_groups: None,
    moto_managed_policy_deletion: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[boto3.session.Session]:
    from moto import mock_aws

    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)  # moto reads it per request (sts, ARNs, backends)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    """A copy of conf/ (outputs are written into it, not into the repository), dev in an account and
    bucket of our own (OWN_PROJECT), delivering from a repository of our own."""
    folder = tmp_path / "conf"
    shutil.copytree(CONF_DIR, folder, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    overlay = yaml.safe_load((folder / "dev.yaml").read_text(encoding="utf-8"))
    overlay["project"].update(OWN_PROJECT["project"])
    overlay["data"] = OWN_PROJECT["data"]
    overlay["delivery"] = {"github_repository": "example-org/stranger-things-nlp"}
    (folder / "dev.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def dev_cfg() -> Config:
    # Serving on CPU instance types: moto's endpoint-config enum predates the GPU ones (shared notes).
    return load_config(
        "dev",
        overrides={
            "chatbot": {
                "serving": {"instance_type": "ml.m5.xlarge", "allowed_instance_types": ["ml.m5.xlarge"]}
            },
            "delivery": {"github_repository": "example-org/stranger-things-nlp"},
        },
    )
