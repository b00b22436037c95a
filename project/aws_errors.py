"""AWS errors as one line that says what to do, for the CLIs (instead of a botocore traceback).

A person running `make start-pipeline` with expired SSO credentials, in a fresh shell with no region, or
before `make upsert-pipeline`, needs the fix, not seventy lines of stack. `explain` maps the errors
botocore raises (and the error codes the services return) to that one line; anything it does not know
stays a normal exception, so real bugs keep their traceback.
"""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    TokenRetrievalError,
)

CREDENTIAL_FIX = "set AWS_PROFILE (after `aws sso login`) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
REJECTED = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "InvalidAccessKeyId",
}
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
}
MISSING = {"ResourceNotFound", "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket"}
# SageMaker answers a missing pipeline with ResourceNotFound or a ValidationException that says so.
NOT_FOUND = re.compile(r"does not exist|could not find|not found", re.IGNORECASE)


def explain(exc: BaseException, env: str = "dev") -> str | None:
    """One line saying what went wrong with AWS and how to fix it; None when `exc` is not one we know."""
    if isinstance(exc, NoRegionError):
        return (
            "no AWS region: set project.region in conf/<env>.yaml (the CLI passes it on) "
            "or export AWS_DEFAULT_REGION"
        )
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return f"no usable AWS credentials were found: {CREDENTIAL_FIX}"
    if isinstance(exc, TokenRetrievalError):
        return "the SSO session has expired: run `aws sso login` (with the same AWS_PROFILE) and retry"
    if isinstance(exc, EndpointConnectionError):
        where = exc.kwargs.get("endpoint_url", "the AWS endpoint")
        return f"cannot reach {where}: check the network, proxy and region"
    if isinstance(exc, ClientError):
        return _client_error(exc, env)
    if isinstance(exc, BotoCoreError):
        return f"AWS SDK error: {exc}"
    return None


def _client_error(exc: ClientError, env: str) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = " ".join(str(error.get("Message", "")).split())
    operation = exc.operation_name
    if code in EXPIRED:
        return f"{operation}: the AWS credentials have expired ({code}): refresh them ({CREDENTIAL_FIX})"
    if code in REJECTED:
        return f"{operation}: AWS rejected the credentials ({code}): {CREDENTIAL_FIX} for the right account"
    if code in DENIED:
        return (
            f"{operation}: access denied ({message or code}): the caller's role needs this action "
            f"(`make iam-policy ENV={env}` prints what the project's roles are granted)"
        )
    if code in THROTTLED:
        return (
            f"{operation}: AWS throttled the request ({code}): wait a minute and retry, or let boto3 retry "
            "longer (AWS_RETRY_MODE=adaptive AWS_MAX_ATTEMPTS=10)"
        )
    if code in MISSING or NOT_FOUND.search(message):
        hint = f"run `make upsert-pipeline ENV={env}` first" if "ipeline" in message + operation else ""
        return f"{operation}: {message or code}" + (f": {hint}" if hint else "")
    return f"{operation}: {code}: {message}"
