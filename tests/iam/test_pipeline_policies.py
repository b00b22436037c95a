"""IAM sufficient and minimal for the pipeline role and the job role, from the dev and prod definitions.

Every access the definition implies (tests/iam/definition_accesses.py) must be allowed by the role's
generated policy (pipelines/iam.py); a statement no access uses is listed and must be a known one. The
job role must not be able to do what only the pipeline role may (register, approve, pass roles, write
the code bundles).
"""

from __future__ import annotations

import json
import logging

import pytest

from conf import load_config
from pipelines.definition import definition_json
from pipelines.iam import execution_role_policy, pipeline_role_policy
from tests.iam.definition_accesses import definition_accesses
from tests.iam.policy_eval import Access, evaluate, unused_statements

LOG = logging.getLogger(__name__)

# Statements the definition cannot exercise, and why.
KNOWN_UNUSED = {
    "job": {
        # Framework containers publish job metrics to CloudWatch themselves; nothing in the definition.
        # The drift monitoring job's PutMetricData is checked in test_monitoring_policies.py.
        "JobMetricsOnlyInSageMakerNamespaces",
    },
    "pipeline": set(),
}


def accesses(env: str) -> tuple[dict, list[Access]]:
    cfg = load_config(env)
    definition = json.loads(definition_json(cfg))
    return {"job": execution_role_policy(cfg), "pipeline": pipeline_role_policy(cfg)}, definition_accesses(
        definition, cfg.project.region, cfg.project.account_id
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_access_the_definition_implies_is_allowed(env: str) -> None:
    policies, all_accesses = accesses(env)
    for role, policy in policies.items():
        mine = [a for a in all_accesses if a.principal == role]
        assert mine, role
        denied = [str(a) for a in mine if not evaluate(policy, a).allowed]
        assert denied == [], f"{env} {role} role lacks:\n" + "\n".join(denied)
        unused = unused_statements(policy, mine)
        LOG.info("%s %s role: %d accesses; statements no access used: %s", env, role, len(mine), unused)
        assert set(unused) <= KNOWN_UNUSED[role] | {"ListProjectPrefix1"}, unused


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_job_role_cannot_do_what_the_pipeline_role_does(env: str) -> None:
    policies, all_accesses = accesses(env)
    job = policies["job"]
    for access in all_accesses:
        if access.principal == "pipeline" and not access.action.startswith(("s3:", "kms:")):
            assert not evaluate(job, Access("job", access.action, access.resource, access.context)).allowed, (
                access
            )
    cfg = load_config(env)
    sagemaker = f"arn:aws:sagemaker:{cfg.project.region}:{cfg.project.account_id}"
    package = f"{sagemaker}:model-package/stranger-things-chatbot/1"
    assert not evaluate(job, Access("job", "sagemaker:UpdateModelPackage", package)).allowed
    bundle = f"arn:aws:s3:::{cfg.project.bucket}/{cfg.project.prefix}/code/5ab0dbe997db/sourcedir.tar.gz"
    assert evaluate(job, Access("job", "s3:GetObject", bundle)).allowed
    assert not evaluate(job, Access("job", "s3:PutObject", bundle)).allowed


def test_a_missing_statement_is_caught() -> None:
    """The check can fail: drop the pipeline role's Lambda statement and the Lambda steps are denied."""
    policies, all_accesses = accesses("dev")
    policy = policies["pipeline"]
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "InvokeDeployHandler"]
    denied = {a.source for a in all_accesses if a.principal == "pipeline" and not evaluate(policy, a).allowed}
    assert denied == {"FindChatbotVersion", "DeployChatbot", "FindClassifierVersion", "DeployClassifier"}


def test_an_lmi_chatbot_is_served_from_an_image_the_job_role_may_pull() -> None:
    """engine lmi: the package names AWS's djl-inference image, which the DLC statement covers."""
    cfg = load_config("dev", overrides={"chatbot": {"serving": {"engine": "lmi"}}})
    all_accesses = definition_accesses(
        json.loads(definition_json(cfg)), cfg.project.region, cfg.project.account_id
    )
    pulls = [a for a in all_accesses if a.resource.endswith(":repository/djl-inference")]
    assert {a.action for a in pulls} == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
    assert all(":763104351884:" in a.resource for a in pulls)
    policies = {"job": execution_role_policy(cfg), "pipeline": pipeline_role_policy(cfg)}
    denied = [str(a) for a in all_accesses if not evaluate(policies[a.principal], a).allowed]
    assert denied == []
