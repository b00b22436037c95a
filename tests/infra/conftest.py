"""Fixtures for the stack tests: moto with change sets that behave like CloudFormation's.

moto 5.2.5 executes a change set's resources but (1) resolves Fn::ImportValue against no exports when
the change set creates the stack, (2) never publishes the executed stack's outputs and exports, and (3)
keeps the old parameters and template after an UPDATE change set, so the next identical change set
is not recognised as empty. `moto_change_sets` completes execute_change_set with what create_stack and
update_stack already do in moto (shared notes: infra-ui-monitoring.md). Nothing else is changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from conf import load_config
from conf.schema import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account, also base.yaml's placeholder
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


@pytest.fixture
def aws(moto_change_sets: None) -> Iterator[boto3.session.Session]:
    from moto import mock_aws

    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


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
