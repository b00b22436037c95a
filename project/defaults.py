"""Defaults the local runner, the local registry, the CLIs and the notebooks share (defined once).

A local run imitates one AWS account in one region: ARNs of local jobs, pipelines and model packages
all use this account id and region, so they read like SageMaker's and never collide with real ones.
"""

from __future__ import annotations

from pathlib import Path

# Runs, the step cache, registry.db and the unpacked endpoint models (relative: the repository root
# when run through make). Keep in step with the Makefile's `clean` target and .gitignore.
LOCAL_HOME = Path(".local")
REGISTRY_DB_NAME = "registry.db"
LOCAL_ACCOUNT_ID = "000000000000"
LOCAL_REGION = "local"
LOCAL_ARN_PREFIX = f"arn:aws:sagemaker:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}"
