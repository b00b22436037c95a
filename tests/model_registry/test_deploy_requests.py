"""The deploy handler's direct requests (the pipeline's Lambda steps) and the two triggers converging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from conf.schema import Config
from model_registry import lambda_handler
from model_registry.deploy_logic import EndpointTarget, HandlerSettings, handle, state_change_event
from model_registry.deploy_requests import BadRequest, DeploymentState, find, handle_request, reconcile
from model_registry.sagemaker_backend import SageMakerRegistry
from model_registry.sagemaker_deploy import SageMakerDeployer
from model_registry.settings import handler_settings
from model_registry.types import ModelVersion
from tests.model_registry.conftest import register_package

GROUP = "stranger-things-chatbot"
ENDPOINT = "stranger-things-nlp-dev-chatbot"
SETTINGS = HandlerSettings(
    targets={GROUP: EndpointTarget(GROUP, ENDPOINT, "ml.m5.xlarge", model="chatbot")},
    execution_role_arn="arn:aws:iam::123456789012:role/job",
)


def version(n: int, status: str, url: str = "", report: str = "") -> ModelVersion:
    return ModelVersion(
        GROUP,
        n,
        f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/{n}",
        status,
        url or f"s3://b/runs/{n}/model.tar.gz",
        evaluation_uri=report or f"s3://b/runs/{n}/evaluation.json",
    )


@dataclass
class Registry:
    versions: list[ModelVersion]

    def get(self, group: str, n: int) -> ModelVersion:
        return next(v for v in self.versions if v.version == n)

    def list_versions(self, group: str, status: str | None = None) -> list[ModelVersion]:
        if group != GROUP:
            raise KeyError(group)
        return [v for v in self.versions if status is None or v.status == status]


@dataclass
class Deployer:
    state: DeploymentState
    deployed: list[int] = field(default_factory=list)

    def deployment_state(self, endpoint_name: str) -> DeploymentState:
        return self.state

    def live_package_arn(self, endpoint_name: str) -> str | None:
        raise AssertionError("must not wait for a busy endpoint the update of which is this version")

    def deploy(self, target: EndpointTarget, chosen: ModelVersion) -> None:
        self.deployed.append(chosen.version)


def test_reconcile_deploys_the_latest_approved_version() -> None:
    registry = Registry([version(1, "Approved"), version(2, "Approved"), version(3, "PendingManualApproval")])
    deployer = Deployer(DeploymentState(exists=True, serving=version(1, "Approved").arn))
    decision = reconcile(GROUP, SETTINGS, registry, deployer)
    assert (decision.action, decision.version, deployer.deployed) == ("deploy", 2, [2])


def test_reconcile_with_nothing_approved_or_already_serving_changes_nothing() -> None:
    deployer = Deployer(DeploymentState(exists=False))
    assert reconcile(GROUP, SETTINGS, Registry([version(1, "Rejected")]), deployer).action == "noop"
    serving = Deployer(DeploymentState(exists=True, serving=version(1, "Approved").arn))
    decision = reconcile(GROUP, SETTINGS, Registry([version(1, "Approved")]), serving)
    assert decision.reason == f"{ENDPOINT} already serves version 1" and serving.deployed == []


def test_an_update_in_progress_to_the_latest_version_counts_as_done() -> None:
    busy = Deployer(DeploymentState(True, busy=True, moving_to=version(2, "Approved").arn, status="Updating"))
    decision = reconcile(GROUP, SETTINGS, Registry([version(1, "Approved"), version(2, "Approved")]), busy)
    assert decision.action == "noop" and "already being updated to version 2" in decision.reason
    assert busy.deployed == []


def test_a_busy_endpoint_moving_elsewhere_is_left_to_the_approval_event_not_failed() -> None:
    busy = Deployer(DeploymentState(True, busy=True, moving_to=version(1, "Approved").arn, status="Updating"))
    decision = reconcile(GROUP, SETTINGS, Registry([version(1, "Approved"), version(2, "Approved")]), busy)
    assert decision.action == "noop" and "approval event of version 2" in decision.reason
    assert busy.deployed == []


def test_approval_event_for_the_version_being_rolled_out_does_not_wait() -> None:
    """The pipeline's DeployX started the update first; the approval event of the same version is done."""
    v2 = version(2, "Approved")
    busy = Deployer(DeploymentState(True, busy=True, moving_to=v2.arn, status="Updating"))
    decision = handle(state_change_event(v2), SETTINGS, Registry([version(1, "Approved"), v2]), busy)
    assert decision.action == "noop" and "already being updated to version 2" in decision.reason


def test_events_of_packages_not_completed_are_ignored() -> None:
    event = state_change_event(version(1, "Approved"))
    event["detail"]["ModelPackageStatus"] = "InProgress"
    deployer = Deployer(DeploymentState(exists=False))
    decision = handle(event, SETTINGS, Registry([version(1, "Approved")]), deployer)
    assert decision.action == "ignore" and "InProgress" in decision.reason and deployer.deployed == []


def test_find_matches_artifact_and_evaluation_whatever_the_status() -> None:
    same = dict(url="s3://b/runs/e1/model.tar.gz", report="s3://b/runs/e1/evaluation.json")
    registry = Registry([version(1, "Rejected", **same), version(2, "Approved")])
    found = find(GROUP, same["url"], same["report"], registry)
    assert found is not None and (found.version, found.status) == (1, "Rejected")
    assert find(GROUP, same["url"], "s3://b/runs/e2/evaluation.json", registry) is None
    assert find("no-such-group", same["url"], same["report"], registry) is None


def test_bad_requests_say_what_is_wrong() -> None:
    registry, deployer = Registry([]), Deployer(DeploymentState(exists=False))
    with pytest.raises(BadRequest, match="unknown request 'deploy'"):
        handle_request({"request": "deploy", "group": GROUP}, SETTINGS, registry, deployer)
    with pytest.raises(BadRequest, match="not one of this handler's"):
        handle_request({"request": "reconcile", "group": "other"}, SETTINGS, registry, deployer)
    with pytest.raises(BadRequest, match="lacks 'model_data_url'"):
        handle_request({"request": "find", "group": GROUP}, SETTINGS, registry, deployer)


class UpdatingClient:
    """The moto client, except that the endpoint reports a blue/green update to `pending` in progress."""

    def __init__(self, client: Any, pending: str) -> None:
        self._client, self._pending = client, pending

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        answer = self._client.describe_endpoint(**kwargs)
        answer["EndpointStatus"] = "Updating"
        answer["PendingDeploymentSummary"] = {"EndpointConfigName": self._pending}
        return answer


@pytest.mark.aws
def test_sagemaker_deployer_reads_the_pending_deployment(
    aws: boto3.session.Session, dev_cfg: Config, update_calls: list[dict[str, Any]], monkeypatch
) -> None:
    """Under moto: deploy v1 through the Lambda step's request, start v2, then see it as 'moving to v2'."""
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    v1 = register_package(aws, GROUP, {"chrf": 31.0}, status="Approved")
    assert lambda_handler.handler({"request": "reconcile", "group": GROUP})["action"] == "deploy"
    v2 = register_package(aws, GROUP, {"chrf": 33.0}, status="Approved")
    sm = aws.client("sagemaker")
    settings = handler_settings(dev_cfg)
    registry = SageMakerRegistry(sm)
    SageMakerDeployer(sm, settings, registry).deploy(settings.targets[GROUP], registry.get(GROUP, 2))
    new_config = update_calls[-1]["EndpointConfigName"]

    busy = SageMakerDeployer(UpdatingClient(sm, new_config), settings, registry)
    state = busy.deployment_state(ENDPOINT)
    assert state.busy and state.moving_to == v2 and state.serving is None
    decision = reconcile(GROUP, settings, registry, busy)
    assert decision.action == "noop" and "already being updated to version 2" in decision.reason
    assert v1 != v2


def test_served_models_keep_the_jobs_network_guardrails() -> None:
    """The pipeline's own CreateModel step had network isolation and the VPC; the one deployer keeps them."""
    from conf import load_config
    from model_registry.endpoint_spec import model_request, resource_name

    cfg = load_config(
        "dev",
        overrides={
            "security": {"network_isolation": True, "subnets": ["subnet-1"], "security_group_ids": ["sg-1"]},
            "chatbot": {"model_id": "s3://b/models/base/"},
            # On instances: a serverless endpoint takes neither isolation nor a VPC (conf refuses both).
            "classifier": {"model_id": "s3://b/models/clf/", "serving": {"serverless": None}},
            "themes": {"model_id": "s3://b/models/nli/"},
        },
    )
    settings = handler_settings(cfg)
    assert HandlerSettings.from_json(settings.to_json()) == settings
    target = settings.targets[GROUP]
    request = model_request(
        resource_name(target, version(1, "Approved"), settings), version(1, "Approved"), settings
    )
    assert request["EnableNetworkIsolation"] is True
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]}
    plain = handler_settings(load_config("dev"))
    assert "VpcConfig" not in model_request("m", version(1, "Approved"), plain)
