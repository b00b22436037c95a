"""Serverless endpoints: the ServerlessConfig, the rules AWS sets for it, and the handler's canary check.

    request = endpoint_config_request(name, variant, spec, tags)  # a serverless CreateEndpointConfig
    problems = endpoint_config_problems(request, model)    # what SageMaker would refuse (empty: none)
    canary(sm, runtime, endpoint, model, new, previous, wait_s)  # invoke once; roll back on failure

Why a canary of our own: a serverless variant has no instance fleet, so the deployment guardrails' canary
and linear steps (fractions of the green fleet's instances) have nothing to count, and the project does not
rely on alarm rollback of a serverless update either (AWS documents blue/green guardrails per fleet; without
a DeploymentConfig an update is blue/green all at once, SRC_BLUE_GREEN_DEFAULT). So the deployer switches
the endpoint without a DeploymentConfig, waits for the update to land, invokes the endpoint once with a
fixed request, and points the endpoint back at the config it served before when that invocation fails.
What this does not give: traffic is never split (every caller reaches the new model at once), and the
check is one request, not minutes of alarms over real traffic (docs/deployment.md says so).

Capture: serverless endpoints take no DataCaptureConfig (SRC_EXCLUSIONS); the project captures nothing for
them (conf refuses a capture percentage above 0 for a serverless endpoint) rather than pretend: the handler
never sees the traffic, so it could capture only its own canary request.

Stdlib only: this module travels in the Lambda bundle.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)

# ---- sources (each rule below names the one it encodes) ---------------------------------------------
DOC = "https://docs.aws.amazon.com/sagemaker/latest"
SRC_SERVERLESS_CONFIG = f"{DOC}/APIReference/API_ProductionVariantServerlessConfig.html"
SRC_EXCLUSIONS = f"{DOC}/dg/serverless-endpoints.html (Feature exclusions)"
SRC_MEMORY = f"{DOC}/dg/serverless-endpoints.html (Memory size)"
SRC_CONCURRENCY = f"{DOC}/dg/serverless-endpoints.html (Concurrent invocations)"
SRC_INVOKE = f"{DOC}/dg/serverless-endpoints-invoke.html"
SRC_GUARDRAILS = f"{DOC}/dg/deployment-guardrails-exclusions.html"
SRC_BLUE_GREEN_DEFAULT = f"{DOC}/APIReference/API_BlueGreenUpdatePolicy.html"
# No AWS page in reach states the image limit; the service's own refusal does: "Image size 13279248421 is
# greater than supported size 10737418240" (CreateEndpoint of a serverless variant).
SRC_IMAGE_SIZE = "https://github.com/aws-solutions-library-samples/qnabot-on-aws/issues/691"

# ---- facts from the sources -------------------------------------------------------------------------
# SRC_SERVERLESS_CONFIG: MemorySizeInMB in 1 GB steps from 1024 to 6144; MaxConcurrency and
# ProvisionedConcurrency 1-200, ProvisionedConcurrency <= MaxConcurrency.
MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MAX_CONCURRENCY = 200
# SRC_CONCURRENCY: "The total concurrency you can share between all serverless endpoints per Region in your
# account is 200" (a quota: some accounts start lower; `make smoke-aws` reads the account's own quotas).
ACCOUNT_CONCURRENCY = 200
MAX_IMAGE_BYTES = 10 * 1024**3  # SRC_IMAGE_SIZE: 10737418240 bytes
EPHEMERAL_DISK_GB = 5  # SRC_MEMORY: "5 GB of ephemeral disk storage", whatever the memory size
# SRC_INVOKE: request and response payloads up to 4 MB; /invocations must answer within 1 minute.
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
INVOKE_TIMEOUT_S = 60
# What an invocation above MaxConcurrency gets: SRC_CONCURRENCY says such invocations "are throttled";
# ThrottlingException is the code botocore's standard retry mode treats as throttling, and 429 the status
# it treats so (botocore/retries/standard.py). serve-local answers with both.
THROTTLING_CODE = "ThrottlingException"
THROTTLING_STATUS = 429

# The fixed request each model's canary sends, and the key its JSON answer must hold.
CANARY_REQUESTS: dict[str, tuple[str, str]] = {
    "classifier": (json.dumps({"inputs": "Meet me at the quarry before the lights go out."}), "predictions"),
}
CONTENT_TYPE = "application/json"
BUSY_STATES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack"})
POLL_S = 15.0


class NotConvertible(RuntimeError):
    """An instance-based endpoint cannot become serverless in place (SRC_EXCLUSIONS)."""


def refuse_conversion(endpoint_name: str, serving_config: dict[str, Any]) -> None:
    """SRC_EXCLUSIONS: "You cannot convert your instance-based, real-time endpoint to a serverless
    endpoint" (UpdateEndpoint answers ValidationError); the other way round works."""
    if any("ServerlessConfig" not in v for v in serving_config.get("ProductionVariants", [])):
        raise NotConvertible(
            f"{endpoint_name} runs on instances ({serving_config.get('EndpointConfigName')}) and SageMaker "
            "cannot make it serverless in place: delete the endpoint, then approve (or reconcile) again to "
            "create it serverless"
        )


class CanaryFailed(RuntimeError):
    """The endpoint failed its canary request after an update; the message says what happened to it."""


@dataclass(frozen=True)
class ServerlessSpec:
    """A serverless variant's size (conf: <model>.serving.serverless)."""

    memory_size_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None

    @classmethod
    def of(cls, value: dict[str, Any]) -> ServerlessSpec:
        return cls(**value)

    def to_request(self) -> dict[str, int]:
        """ProductionVariantServerlessConfig."""
        request = {"MemorySizeInMB": self.memory_size_mb, "MaxConcurrency": self.max_concurrency}
        if self.provisioned_concurrency is not None:
            request["ProvisionedConcurrency"] = self.provisioned_concurrency
        return request


def endpoint_config_request(
    name: str, variant_name: str, spec: ServerlessSpec, tags: list[dict[str, str]]
) -> dict[str, Any]:
    """CreateEndpointConfig of one serverless variant: no instances, no capture, no volume key.

    KmsKeyId is left out: it encrypts "the storage volume attached to the ML compute instance" (botocore's
    CreateEndpointConfigInput), which a serverless variant does not have, and SageMaker's serverless
    exclusions have listed KMS keys (SRC_EXCLUSIONS).
    """
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {"VariantName": variant_name, "ModelName": name, "ServerlessConfig": spec.to_request()}
        ],
        "Tags": tags,
    }


def spec_problems(config: dict[str, Any]) -> list[str]:
    """What SageMaker refuses in one ProductionVariantServerlessConfig (SRC_SERVERLESS_CONFIG)."""
    problems = []
    memory, most = config.get("MemorySizeInMB"), config.get("MaxConcurrency")
    provisioned = config.get("ProvisionedConcurrency")
    if memory not in MEMORY_SIZES_MB:
        problems.append(f"MemorySizeInMB {memory} is not one of {', '.join(map(str, MEMORY_SIZES_MB))}")
    if not isinstance(most, int) or not 1 <= most <= MAX_CONCURRENCY:
        problems.append(f"MaxConcurrency {most} is outside 1-{MAX_CONCURRENCY}")
    if provisioned is not None:
        if not isinstance(provisioned, int) or not 1 <= provisioned <= MAX_CONCURRENCY:
            problems.append(f"ProvisionedConcurrency {provisioned} is outside 1-{MAX_CONCURRENCY}")
        elif isinstance(most, int) and provisioned > most:
            problems.append(f"ProvisionedConcurrency {provisioned} exceeds MaxConcurrency {most}")
    return problems


def endpoint_config_problems(
    config: dict[str, Any], model: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """(problem, source) for everything SageMaker refuses in a serverless CreateEndpointConfig (and the
    CreateModel it serves); nothing for an instance-based one."""
    variants = config.get("ProductionVariants", [])
    serverless = [v for v in variants if "ServerlessConfig" in v]
    if not serverless:
        return []
    found: list[tuple[str, str]] = []
    for variant in serverless:
        name = variant.get("VariantName", "?")
        for problem in spec_problems(variant["ServerlessConfig"]):
            found.append((f"variant {name}: {problem}", SRC_SERVERLESS_CONFIG))
        for member in ("InstanceType", "InitialInstanceCount", "AcceleratorType", "VolumeSizeInGB"):
            if member in variant:
                found.append(
                    (
                        f"variant {name}: {member} is for instances; a serverless variant has none (no GPU)",
                        SRC_EXCLUSIONS,
                    )
                )
    if len(variants) > 1:
        found.append((f"{len(variants)} production variants: serverless takes one", SRC_EXCLUSIONS))
    if config.get("ShadowProductionVariants"):
        found.append(("shadow variants on a serverless endpoint", SRC_EXCLUSIONS))
    capture = config.get("DataCaptureConfig") or {}
    if capture.get("EnableCapture", bool(capture)):
        found.append(("DataCaptureConfig: serverless endpoints capture no data", SRC_EXCLUSIONS))
    if config.get("KmsKeyId"):
        found.append(("KmsKeyId: a serverless variant has no instance volume to encrypt", SRC_EXCLUSIONS))
    if config.get("VpcConfig") or (model or {}).get("VpcConfig"):
        found.append(("VpcConfig: serverless endpoints run outside your VPC", SRC_EXCLUSIONS))
    if config.get("EnableNetworkIsolation") or (model or {}).get("EnableNetworkIsolation"):
        found.append(("EnableNetworkIsolation: not available to serverless endpoints", SRC_EXCLUSIONS))
    if model is not None and len(model.get("Containers", [])) > 1:
        found.append(("an inference pipeline (several containers) on a serverless endpoint", SRC_EXCLUSIONS))
    return found


def canary(
    sm: Any,
    runtime: Any,
    endpoint_name: str,
    model: str,
    new_config: str,
    previous_config: str | None,
    wait_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Invoke the updated endpoint once; point it back at `previous_config` when that fails.

    Returns "passed", or "unchecked" when the update had not landed within `wait_s` (the caller's time is
    up: the Lambda returns, and the endpoint is left to SageMaker's own update; the log says so). Raises
    CanaryFailed when the request failed (after rolling back, when there is a config to go back to) or when
    SageMaker itself did not land the update.
    """
    request = CANARY_REQUESTS.get(model)
    if request is None:
        return "unchecked"
    waited = 0.0
    endpoint = sm.describe_endpoint(EndpointName=endpoint_name)
    while endpoint.get("EndpointStatus") in BUSY_STATES:
        if waited >= wait_s:
            LOG.warning(
                "%s is still %s after %.0f s: canary not run; check the endpoint before relying on it",
                endpoint_name,
                endpoint["EndpointStatus"],
                waited,
            )
            return "unchecked"
        sleep(POLL_S)
        waited += POLL_S
        endpoint = sm.describe_endpoint(EndpointName=endpoint_name)
    status, serving = endpoint.get("EndpointStatus"), endpoint.get("EndpointConfigName")
    if status != "InService" or serving != new_config:
        raise CanaryFailed(
            f"{endpoint_name} did not take {new_config}: it is {status} on {serving} "
            f"({endpoint.get('FailureReason', 'no reason given')})"
        )
    body, key = request
    failure = _invoke_failure(runtime, endpoint_name, body, key)
    if failure is None:
        LOG.info("%s: canary passed on %s", endpoint_name, new_config)
        return "passed"
    if previous_config is None:
        raise CanaryFailed(
            f"{endpoint_name} was created on {new_config} but its canary failed ({failure}); there is no "
            "earlier config to go back to: reject the version, or delete the endpoint"
        )
    sm.update_endpoint(EndpointName=endpoint_name, EndpointConfigName=previous_config)
    raise CanaryFailed(
        f"{endpoint_name}: canary failed on {new_config} ({failure}); rolling back to {previous_config}. "
        "Reject the version so the next event does not deploy it again"
    )


def _invoke_failure(runtime: Any, endpoint_name: str, body: str, key: str) -> str | None:
    """None when one invocation answers JSON holding `key`; else what went wrong."""
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint_name, ContentType=CONTENT_TYPE, Accept=CONTENT_TYPE, Body=body.encode()
        )
        raw = response["Body"].read()
    except Exception as error:  # any failure of the call is the canary's verdict: reported, not raised
        return f"{type(error).__name__}: {error}"
    try:
        answer = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"the answer is not JSON: {raw[:120]!r}"
    if not isinstance(answer, dict) or not answer.get(key):
        return f"the answer has no {key!r}: {str(answer)[:120]}"
    return None
