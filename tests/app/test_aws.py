"""The AWS backend's reading of SageMaker Runtime and CloudWatch, on botocore's own request checks.

botocore's Stubber validates every request against the service model, so a wrong parameter name or
shape fails here as it would against AWS; the answers are shaped as the API reference documents them.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from app.backend import AwsBackend, EndpointUnavailable, RequestRejected, aws_error
from app.cloudwatch import endpoint_rows, metric_queries

ENDPOINT = "stranger-things-nlp-dev-chatbot"


def client_error(code: str, message: str, **extra: Any) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, **extra}, "InvokeEndpoint")


def test_a_4xx_from_the_container_is_the_handlers_message() -> None:
    error = client_error(
        "ModelError",
        "Received client error (400) from primary",
        OriginalStatusCode=400,
        OriginalMessage=json.dumps({"error": "'messages' must be a non-empty list"}),
    )
    mapped = aws_error(ENDPOINT, error)
    assert isinstance(mapped, RequestRejected)
    assert str(mapped) == "'messages' must be a non-empty list"


def test_a_missing_endpoint_or_a_5xx_says_the_endpoint_is_unavailable() -> None:
    missing = aws_error(
        ENDPOINT, client_error("ValidationError", f"Endpoint {ENDPOINT} of account x not found.")
    )
    assert isinstance(missing, EndpointUnavailable)
    assert "does not exist yet: approve a version to deploy it" in str(missing)
    failed = aws_error(
        ENDPOINT, client_error("ModelError", "server error", OriginalStatusCode=500, OriginalMessage="boom")
    )
    assert isinstance(failed, EndpointUnavailable) and "failed (500): boom" in str(failed)


class StubbedSession:
    """A boto3 session whose clients are the given (stubbed) ones, plain clients for the rest."""

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def client(self, service: str) -> Any:
        return self.clients.get(service) or boto3.client(service, region_name="us-east-1")


def aws_backend(clients: dict[str, Any], tmp_path: Any) -> AwsBackend:
    from conf import load_config
    from workspace import SageMakerWorkspace

    return AwsBackend(SageMakerWorkspace(load_config("dev"), StubbedSession(clients)), tmp_path / "cache")


def test_invoke_sends_json_to_the_environments_endpoint_and_times_the_call(tmp_path: Any) -> None:
    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    body = json.dumps({"reply": "Friends don't lie."}).encode()
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
            {
                "EndpointName": ENDPOINT,
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": ANY,
            },
        )
        stub.add_client_error(
            "invoke_endpoint",
            "ModelError",
            "Received client error (400)",
            http_status_code=424,
            response_meta={},
        )
        backend = aws_backend({"sagemaker-runtime": runtime}, tmp_path)
        assert backend.invoke("chatbot", {"messages": [{"role": "user", "content": "Hi"}]}) == {
            "reply": "Friends don't lie."
        }
        with pytest.raises(EndpointUnavailable, match="failed"):
            backend.invoke("chatbot", {"messages": []})
    rows = backend.calls.rows()
    assert [(r["endpoint"], r["invocations"], r["errors"]) for r in rows] == [(ENDPOINT, 2, 1)]


def test_cloudwatch_rows_sum_the_counts_and_turn_microseconds_into_ms() -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    now = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    queries = metric_queries("ep-a", 0, 86400)
    assert [q["MetricStat"]["Metric"]["MetricName"] for q in queries] == [
        "Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "ModelLatency",
    ]  # fmt: skip
    answer = {
        "MetricDataResults": [
            {"Id": "e0_invocations", "Values": [120.0, 30.0], "StatusCode": "Complete"},
            {"Id": "e0_4xx", "Values": [3.0], "StatusCode": "Complete"},
            {"Id": "e0_5xx", "Values": [], "StatusCode": "Complete"},
            {"Id": "e0_p50", "Values": [41000.0], "StatusCode": "Complete"},
            {"Id": "e0_p95", "Values": [250500.0], "StatusCode": "Complete"},
        ]
    }
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data", answer, {"MetricDataQueries": queries, "StartTime": ANY, "EndTime": now}
        )
        rows = endpoint_rows(cloudwatch, ["ep-a"], now=now)
    assert rows == [
        {"endpoint": "ep-a", "invocations": 150, "errors": 3, "error kinds": "4xx=3, 5xx=0",
         "p50 ms": 41.0, "p95 ms": 250.5},
    ]  # fmt: skip


def test_an_lmi_chatbot_is_asked_in_chat_completions_and_answers_in_our_contract(tmp_path: Any) -> None:
    """chatbot.serving.engine lmi: the app sends LMI's schema and hands back {"reply", "usage"}."""
    from conf import load_config
    from workspace import SageMakerWorkspace

    runtime = boto3.client("sagemaker-runtime", region_name="us-east-1")
    answer = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Friends don't lie."}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }
    body = json.dumps(answer).encode()
    sent = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 48, "temperature": 0.0}
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
            {
                "EndpointName": ENDPOINT,
                "ContentType": "application/json",
                "Accept": "application/json",
                "Body": json.dumps(sent).encode("utf-8"),
            },
        )
        cfg = load_config("dev", overrides={"chatbot": {"serving": {"engine": "lmi"}}})
        session = StubbedSession({"sagemaker-runtime": runtime})
        backend = AwsBackend(SageMakerWorkspace(cfg, session), tmp_path)
        request = {"messages": [{"role": "user", "content": "Hi"}], "parameters": {"max_new_tokens": 48}}
        assert backend.invoke("chatbot", request) == {
            "reply": "Friends don't lie.",
            "usage": {"prompt_tokens": 12, "completion_tokens": 5},
        }
        with pytest.raises(RequestRejected, match="last message must be the user's"):
            backend.invoke("chatbot", {"messages": [{"role": "assistant", "content": "x"}]})


def test_variant_rows_query_each_variant_by_its_variant_name() -> None:
    """An endpoint with a challenger: one row per variant, each from its own VariantName dimension."""
    from app.cloudwatch import variant_figure_rows

    keys = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sagemaker, cloudwatch = boto3.client("sagemaker", **keys), boto3.client("cloudwatch", **keys)
    now = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    described = {
        "EndpointName": "ep-a",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-a",
        "EndpointConfigName": "ep-a-v1-ab2-abcdef",
        "EndpointStatus": "InService",
        "CreationTime": now,
        "LastModifiedTime": now,
        "ProductionVariants": [{"VariantName": "AllTraffic"}, {"VariantName": "v2"}],
    }
    queries = metric_queries("ep-a", 0, 86400, "AllTraffic") + metric_queries("ep-a", 1, 86400, "v2")
    assert {
        d["Value"]
        for q in queries
        for d in q["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "VariantName"
    } == {"AllTraffic", "v2"}
    answer = {
        "MetricDataResults": [
            {"Id": "e0_invocations", "Values": [90.0], "StatusCode": "Complete"},
            {"Id": "e1_invocations", "Values": [10.0], "StatusCode": "Complete"},
            {"Id": "e1_5xx", "Values": [2.0], "StatusCode": "Complete"},
            {"Id": "e1_p95", "Values": [80000.0], "StatusCode": "Complete"},
        ]
    }
    with Stubber(sagemaker) as sm_stub, Stubber(cloudwatch) as cw_stub:
        sm_stub.add_response("describe_endpoint", described, {"EndpointName": "ep-a"})
        cw_stub.add_response(
            "get_metric_data", answer, {"MetricDataQueries": queries, "StartTime": ANY, "EndTime": now}
        )
        rows = variant_figure_rows(sagemaker, cloudwatch, "ep-a", now=now)
    assert rows == [
        {"endpoint": "ep-a [AllTraffic]", "invocations": 90, "errors": 0, "p50 ms": None, "p95 ms": None},
        {"endpoint": "ep-a [v2]", "invocations": 10, "errors": 2, "p50 ms": None, "p95 ms": 80.0},
    ]
