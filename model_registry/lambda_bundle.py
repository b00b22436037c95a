"""The deploy handler's Lambda bundle: a zip of the stdlib-and-boto3 modules of model_registry.

Deterministic (sorted entries, fixed timestamps): the same code gives the same zip and the same
CodeSha256 and the same content-addressed S3 key (infra/parameters.py handler_code_key), so
`make deploy-infra` updates the function only when the code changed. Building and uploading the zip is
the one part of the handler a stack cannot do.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
HANDLER = "model_registry.lambda_handler.handler"
# Only what the Lambda imports: no conf/, no pydantic, no yaml, no SageMaker SDK.
BUNDLE_MODULES: tuple[str, ...] = (
    "__init__.py",
    "deploy_logic.py",
    "deploy_requests.py",
    "drift_run.py",
    "endpoint_spec.py",
    "lambda_handler.py",
    "metrics.py",
    "monitoring_schedule.py",
    "naming.py",
    "sagemaker_backend.py",
    "sagemaker_deploy.py",
    "sagemaker_variants.py",
    "serverless.py",
    "types.py",
    "variant_rules.py",
    "variants.py",
)
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def build_zip() -> bytes:
    """The zip bytes: model_registry/<module> for each bundled module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(BUNDLE_MODULES):
            info = zipfile.ZipInfo(f"model_registry/{name}", date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (PACKAGE_DIR / name).read_bytes())
    return buffer.getvalue()


def sha256_b64(data: bytes) -> str:
    """Lambda's CodeSha256 form (base64 of the SHA-256 digest)."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
