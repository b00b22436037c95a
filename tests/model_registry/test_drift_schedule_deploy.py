"""The deploy handler keeps each endpoint's drift schedule on the version it serves (moto: SageMaker and
EventBridge Scheduler), as model_registry/monitoring_schedule.py describes."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator

from conf.schema import Config
from model_registry import lambda_handler
from model_registry import monitoring_schedule as ms
from model_registry.settings import handler_settings
from tests.model_registry.conftest import BUCKET, MONITOR_IMAGE, register_package, sagemaker_event

pytestmark = pytest.mark.aws

CHATBOT = "stranger-things-chatbot"
CLASSIFIER = "stranger-things-location-classifier"
SCHEDULE = "stranger-things-nlp-dev-chatbot-drift"
# The live variant's capture (SageMaker's layout: <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh).
CAPTURE = (
    f"s3://{BUCKET}/stranger-things-nlp/dev/data-capture/chatbot/stranger-things-nlp-dev-chatbot/AllTraffic/"
)


@pytest.fixture
def invoke(aws: boto3.session.Session, dev_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(lambda_handler.SETTINGS_ENV, handler_settings(dev_cfg).to_json())
    return lambda event: lambda_handler.handler(event, None)


def approve(session: boto3.session.Session, arn: str, status: str = "Approved") -> dict[str, Any]:
    session.client("sagemaker").update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return sagemaker_event(session, arn)


def baseline_of(session: boto3.session.Session, arn: str) -> str:
    described = session.client("sagemaker").describe_model_package(ModelPackageName=arn)
    statistics = described["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    return statistics.removesuffix("statistics.json")


def scheduled_job(session: boto3.session.Session, name: str = SCHEDULE) -> dict[str, Any]:
    """The CreateProcessingJob request the stored schedule has the handler send when it fires."""
    stored = session.client("scheduler").get_schedule(Name=name)
    assert stored["Target"]["Arn"].endswith(":function:stranger-things-nlp-dev-deploy-handler")
    run = json.loads(stored["Target"]["Input"])
    assert (run["request"], run["capture_uri"]) == ("drift-run", CAPTURE)
    return run["job"]


def mounts(job: dict[str, Any]) -> dict[str, str]:
    return {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}


def test_approval_creates_the_schedule_on_the_served_versions_baseline(aws, invoke, update_calls) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, monitored=True)
    assert invoke(approve(aws, v1))["action"] == "deploy"

    job = scheduled_job(aws)
    assert mounts(job) == {
        "baseline": baseline_of(aws, v1),
        "code": f"s3://{BUCKET}/stranger-things-nlp/code/000000000001/",
        # The firing's manifest of the window's capture (the schedule carries CAPTURE to the handler).
        "endpoint": f"s3://{BUCKET}/stranger-things-nlp/dev/monitoring/manifests/stranger-things-nlp-dev-chatbot/"
        f"{ms.EXECUTION_ID}.json",
    }
    assert job["AppSpecification"]["ImageUri"] == MONITOR_IMAGE
    stored = aws.client("scheduler").get_schedule(Name=SCHEDULE)
    assert (
        stored["Target"]["RoleArn"]
        == "arn:aws:iam::123456789012:role/stranger-things-nlp-dev-drift-scheduler"
    )
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/StrangerThingsNlpSageMakerExecution"


def test_a_second_approval_moves_the_schedule_and_a_rejection_moves_it_back(
    aws, invoke, update_calls
) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, monitored=True)
    invoke(approve(aws, v1))
    v2 = register_package(aws, CHATBOT, {"chrf": 33.0}, monitored=True)
    assert baseline_of(aws, v2) != baseline_of(aws, v1)

    assert invoke(approve(aws, v2))["action"] == "deploy"
    assert mounts(scheduled_job(aws))["baseline"] == baseline_of(aws, v2)
    assert mounts(scheduled_job(aws))["code"].endswith("/code/000000000002/")

    assert invoke(approve(aws, v2, "Rejected"))["action"] == "rollback"
    assert mounts(scheduled_job(aws))["baseline"] == baseline_of(aws, v1)
    assert len(aws.client("scheduler").list_schedules()["Schedules"]) == 1


def test_a_version_without_a_baseline_removes_the_schedule(aws, invoke, update_calls, caplog) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, monitored=True)
    invoke(approve(aws, v1))
    v2 = register_package(aws, CHATBOT, {"chrf": 33.0})  # registered by hand: no baseline

    assert invoke(approve(aws, v2))["action"] == "deploy"

    assert aws.client("scheduler").list_schedules()["Schedules"] == []
    assert "no DriftCheckBaselines" in caplog.text and "another version's baseline" in caplog.text
    # Rolling back to the monitored version brings the schedule back, on its baseline.
    invoke(approve(aws, v2, "Rejected"))
    assert mounts(scheduled_job(aws))["baseline"] == baseline_of(aws, v1)


def test_a_duplicate_event_leaves_the_schedule_as_it_is(aws, invoke, update_calls) -> None:
    v1 = register_package(aws, CHATBOT, {"chrf": 31.0}, monitored=True)
    event = approve(aws, v1)
    invoke(event)
    before = aws.client("scheduler").get_schedule(Name=SCHEDULE)["LastModificationDate"]
    assert invoke(event)["action"] == "noop"
    assert aws.client("scheduler").get_schedule(Name=SCHEDULE)["LastModificationDate"] == before


def test_a_serverless_endpoint_gets_no_schedule(aws, invoke, update_calls) -> None:
    """dev's classifier is serverless: it captures nothing, so there is nothing to monitor."""
    from tests.model_registry.conftest import moto_answers

    moto_answers(json.dumps({"predictions": [{"label": "Hawkins Lab"}]}))
    v1 = register_package(aws, CLASSIFIER, {"accuracy": 0.8}, monitored=True)
    assert invoke(approve(aws, v1))["action"] == "deploy"
    assert aws.client("scheduler").list_schedules()["Schedules"] == []


def test_the_handlers_requests_validate_against_the_scheduler_shapes(dev_cfg: Config) -> None:
    """Create and Update send the same request; botocore's shapes accept it for both operations."""
    from model_registry.settings import monitoring_settings

    package = {
        "ModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/stranger-things-chatbot/3",
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {"S3Uri": "s3://b/p/baseline/statistics.json"},
                "Constraints": {"S3Uri": "s3://b/p/baseline/constraints.json"},
            }
        },
        "CustomerMetadataProperties": {ms.CODE_URI_KEY: "s3://b/code/x/", ms.IMAGE_URI_KEY: MONITOR_IMAGE},
    }
    sent: dict[str, dict[str, Any]] = {}

    class Recording:
        def get_schedule(self, **kwargs: Any) -> dict[str, Any]:
            sent["GetSchedule"] = kwargs
            error = botocore.exceptions.ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "Schedule x does not exist."}},
                "GetSchedule",
            )
            raise error

        def create_schedule(self, **kwargs: Any) -> None:
            sent["CreateSchedule"] = sent["UpdateSchedule"] = kwargs

    assert (
        ms.sync_schedule(Recording(), monitoring_settings(dev_cfg), "chatbot", CAPTURE, package) == "created"
    )
    model = botocore.session.get_session().get_service_model("scheduler")
    for operation, request in sent.items():
        report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
    job = json.loads(sent["CreateSchedule"]["Target"]["Input"])["job"]
    assert job["ProcessingInputs"][1]["S3Input"]["S3Uri"] == "s3://b/p/baseline/"


@pytest.mark.parametrize(
    "drop, message",
    [
        ("DriftCheckBaselines", "no DriftCheckBaselines"),
        (
            "CustomerMetadataProperties",
            "lacks CustomerMetadataProperties monitoring_code_uri, monitoring_image_uri",
        ),
    ],
)
def test_what_a_version_lacks_is_named(drop: str, message: str) -> None:
    package = {
        "DriftCheckBaselines": {
            "ModelDataQuality": {
                "Statistics": {"S3Uri": "s3://b/p/baseline/statistics.json"},
                "Constraints": {"S3Uri": "s3://b/p/baseline/constraints.json"},
            }
        },
        "CustomerMetadataProperties": {ms.CODE_URI_KEY: "s3://b/code/x/", ms.IMAGE_URI_KEY: MONITOR_IMAGE},
    }
    package.pop(drop)
    with pytest.raises(ms.NotMonitorable, match=message):
        ms.version_monitoring(package)
