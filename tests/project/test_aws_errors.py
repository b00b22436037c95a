"""project/aws_errors.py: the AWS errors a person meets first become one line that says the fix."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    TokenRetrievalError,
)

from project.aws_errors import explain


def client_error(code: str, message: str, operation: str = "StartPipelineExecution") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (NoRegionError(), "no AWS region: set project.region in conf/<env>.yaml"),
        (NoCredentialsError(), "no usable AWS credentials were found: set AWS_PROFILE"),
        (TokenRetrievalError(provider="sso", error_msg="expired"), "run `aws sso login`"),
        (
            EndpointConnectionError(endpoint_url="https://api.sagemaker.us-east-1.amazonaws.com/"),
            "cannot reach https://api.sagemaker.us-east-1.amazonaws.com/",
        ),
        (
            client_error("ExpiredTokenException", "The security token included in the request is expired"),
            "StartPipelineExecution: the AWS credentials have expired (ExpiredTokenException)",
        ),
        (
            client_error(
                "UnrecognizedClientException", "The security token included in the request is invalid"
            ),
            "AWS rejected the credentials (UnrecognizedClientException)",
        ),
        (
            client_error("ThrottlingException", "Rate exceeded"),
            "StartPipelineExecution: AWS throttled the request (ThrottlingException): wait a minute",
        ),
        (
            client_error(
                "ResourceNotFound",
                "Pipeline 'arn:aws:sagemaker:us-east-1:210987654321:pipeline/stranger-things-nlp-dev' "
                "does not exist.",
            ),
            "does not exist.: run `make upsert-pipeline ENV=dev` first",
        ),
        (
            client_error("ValidationException", "Could not find pipeline with PipelineName x-dev."),
            "Could not find pipeline with PipelineName x-dev.: run `make upsert-pipeline ENV=dev` first",
        ),
        (
            client_error("AccessDeniedException", "User is not authorized to perform: sagemaker:Start..."),
            "access denied (User is not authorized to perform: sagemaker:Start...)",
        ),
    ],
)
def test_known_aws_errors_become_one_line_with_the_fix(exc: Exception, expected: str) -> None:
    line = explain(exc, env="dev")
    assert line is not None and "\n" not in line
    assert expected in line


def test_other_errors_keep_their_traceback() -> None:
    assert explain(KeyError("x")) is None
