"""The operations stack's monitoring resources are what the project's Python generates.

The dashboard body (model_registry/dashboard.py, written into the template by `python -m infra
dashboard --write`), the drift-violation alarms beside the rollback alarms, the MLflow tracking server
and its role when conf creates one, and the job role's MLflow grants in the execution stack. moto skips
CloudWatch alarms and has no MLflow tracking server: those are checked on the rendered template (the
dashboard is also created under moto in test_stacks.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conf import ConfigError, load_config
from conf.schema import Config
from infra.dashboard import templated_body, update_template
from infra.parameters import InfraConfigError, stack_parameters
from infra.template import template_path
from model_registry.dashboard import dashboard_body, violation_alarm_requests
from model_registry.iam_policies import mlflow_server_policy, trust_policy
from model_registry.naming import dashboard_name
from pipelines.iam import execution_role_policy
from tests.infra.rendering import KMS_KEY_ARN, normalised, properties, rendered
from tests.infra.test_policies import deployed, template_execution_policy

SERVER = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/stranger-things-nlp-{env}"
STORE = "s3://stranger-things-nlp-artifacts/stranger-things-nlp/mlflow"


def tracking(env: str, create: bool = True, **mlflow: Any) -> Config:
    settings = {"tracking_server_arn": SERVER.format(env=env), "artifact_store_uri": STORE}
    return deployed(env, mlflow={**settings, "create_server": create, **mlflow})


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_dashboard_in_the_stack_is_the_generated_one(env: str) -> None:
    cfg = deployed(env)
    dashboard = properties(cfg, "operations", "Dashboard")
    assert dashboard["DashboardName"] == dashboard_name(cfg.project.name, env)
    assert json.loads(dashboard["DashboardBody"]) == dashboard_body(cfg)


def test_the_template_holds_the_current_dashboard_and_a_change_is_caught(tmp_path: Path) -> None:
    cfg = load_config("dev")
    assert update_template(cfg, write=False)
    stale = tmp_path / "operations.yaml"
    text = template_path("operations").read_text(encoding="utf-8")
    stale.write_text(text.replace('"Endpoint latency (us)"', '"Latency"'), encoding="utf-8")
    assert not update_template(cfg, write=False, path=stale)
    assert update_template(cfg, write=True, path=stale) and stale.read_text(encoding="utf-8") == text


def test_every_environment_specific_value_is_a_parameter() -> None:
    """The body is written once for all environments: no dev name may be left in it."""
    body = templated_body(load_config("dev"))
    for value in ("stranger-things-nlp-dev", "us-east-1", "123456789012", "StrangerThingsNlp/Monitoring"):
        assert value not in body, value


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_violation_alarms_are_the_generated_ones_and_notify_the_topic(env: str) -> None:
    cfg = deployed(env)
    template, resolver = rendered(cfg, "operations")
    topic = resolver.resolve({"Ref": "Notifications"})
    in_stack = {}
    for logical in ("ChatbotViolationsAlarm", "ClassifierViolationsAlarm"):
        alarm = resolver.resolve(template["Resources"][logical]["Properties"])
        alarm["Threshold"] = float(alarm["Threshold"])
        alarm["Period"] = int(alarm["Period"])
        in_stack[alarm["AlarmName"]] = alarm
    expected = {r["AlarmName"]: r for r in violation_alarm_requests(cfg, topic)}
    assert in_stack == expected
    # Next to the rollback alarms, in the dashboard's alarm widget too.
    [alarms] = [w for w in dashboard_body(cfg)["widgets"] if w["type"] == "alarm"]
    assert {a.rsplit(":", 1)[1] for a in alarms["properties"]["alarms"]} >= set(expected)


def test_no_tracking_server_unless_conf_creates_one() -> None:
    for cfg in (deployed("dev"), tracking("dev", create=False)):
        template, resolver = rendered(cfg, "operations")
        assert resolver.conditions["CreateMlflowServer"] is False
        for logical in ("MlflowServerRole", "MlflowTrackingServer"):
            assert template["Resources"][logical]["Condition"] == "CreateMlflowServer"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_tracking_server_and_its_role_are_the_generated_ones(env: str) -> None:
    cfg = tracking(env, server_size="Medium")
    template, resolver = rendered(cfg, "operations")
    assert resolver.conditions["CreateMlflowServer"] is True
    server = properties(cfg, "operations", "MlflowTrackingServer")
    assert server == {
        "TrackingServerName": f"stranger-things-nlp-{env}",
        "ArtifactStoreUri": STORE,
        "RoleArn": f"arn:aws:iam::123456789012:role/stranger-things-nlp-{env}-mlflow",
        "TrackingServerSize": "Medium",
        "AutomaticModelRegistration": False,
        "Tags": [{"Key": "project", "Value": "stranger-things-nlp"}, {"Key": "environment", "Value": env}],
    }
    # The server's ARN, as CloudFormation reports it, is the one conf gives the pipeline and the jobs.
    output = template["Outputs"]["MlflowTrackingServerArn"]
    assert resolver.resolve(output["Value"]) == cfg.mlflow.tracking_server_arn
    role = properties(cfg, "operations", "MlflowServerRole")
    [policy] = role["Policies"]
    assert normalised(policy["PolicyDocument"]) == normalised(mlflow_server_policy(STORE, KMS_KEY_ARN))
    assert role["AssumeRolePolicyDocument"] == trust_policy("sagemaker.amazonaws.com", "123456789012")


@pytest.mark.parametrize(
    "cfg",
    [
        tracking("prod"),  # the stack creates the server
        tracking("prod", create=False),  # a server that exists already
        tracking("dev", create=False, artifact_store_uri=None),  # artifacts go where the server says
    ],
    ids=["created", "existing", "no-store"],
)
def test_the_job_roles_mlflow_grants_in_the_stack_are_the_generated_ones(cfg: Config) -> None:
    policy = template_execution_policy(cfg)
    assert policy == normalised(execution_role_policy(cfg))
    sids = [s["Sid"] for s in policy["Statement"]]
    assert "ExperimentTracking" in sids
    assert ("ExperimentArtifacts" in sids) == bool(cfg.mlflow.artifact_store_uri)


def test_a_server_the_stack_cannot_create_is_refused_with_what_to_do() -> None:
    elsewhere = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/x"
    with pytest.raises(InfraConfigError, match="create_server false"):
        stack_parameters(tracking("dev", tracking_server_arn=elsewhere), "operations")
    with pytest.raises(InfraConfigError, match="whole bucket"):
        stack_parameters(tracking("dev", artifact_store_uri="s3://stranger-things-mlflow"), "operations")
    with pytest.raises(ConfigError, match="create_server needs"):
        load_config("dev", overrides={"mlflow": {"create_server": True}})
