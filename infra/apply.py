"""The stacks of one environment, in order: deploy or preview them all, write outputs back, destroy.

    results = deploy_environment("dev", session, confirm)          # make deploy-infra ENV=dev
    results = deploy_environment("dev", session, confirm, execute=False)   # make infra-diff ENV=dev

Each of these calls AWS, so each loads the config `for_aws`: base.yaml's placeholder account and
bucket are refused (conf/refusals.py, the check upsert and smoke-aws use) before the first AWS call.

The handler zip is the one thing a stack cannot make: it is built from model_registry/ and uploaded to
a content-addressed key before the operations stack's change set names it. After the storage stack,
its outputs are written to conf/outputs/<env>.yaml (the KMS key's ARN) and the config is reloaded, so
the later stacks and the pipeline's offline definition see the same key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from conf import CONF_DIR, OUTPUTS_DIR, load_config
from conf.schema import Config
from infra.deploy import (
    Change,
    ChangeSetFailed,
    StackResult,
    bucket_holds_data,
    delete_stack,
    deploy_stack,
    empty_bucket,
    stack_status,
    upload_once,
)
from infra.parameters import STACKS, as_cloudformation, handler_code_key, stack_name, stack_parameters
from infra.template import template_path
from model_registry.lambda_bundle import build_zip

LOG = logging.getLogger(__name__)
OUTPUTS_HEADER = (
    "# Written by `make infra-outputs` / `make deploy-infra` from the stacks' outputs: review and commit.\n"
    "# Read after conf/base.yaml and conf/<env>.yaml (conf/__init__.py).\n"
)
# Under the project prefix, what `make deploy-infra` and `make upsert-pipeline` can put back from the
# repository: code bundles and the handler zip. Anything else in the bucket is data.
REBUILDABLE = ("code/", "infra/")


class AccountMismatch(RuntimeError):
    """The credentials are for another account than the config names."""


class BucketHoldsData(RuntimeError):
    """destroy would delete a bucket with data in it; the message says how to go ahead."""


def check_account(session: Any, cfg: Config) -> str:
    """The caller's account, which must be the config's (names and ARNs in the stacks derive from it)."""
    account = session.client("sts").get_caller_identity()["Account"]
    if account != cfg.project.account_id:
        raise AccountMismatch(
            f"conf/{cfg.env}.yaml names account {cfg.project.account_id} but the credentials are for "
            f"{account}: set project.account_id to {account} (or use that account's credentials)"
        )
    return account


def stack_tags(cfg: Config) -> dict[str, str]:
    """Tags on every stack, which CloudFormation copies onto every resource that takes tags."""
    return {**cfg.project.tags, "project": cfg.project.name, "environment": cfg.env}


def outputs_overlay(storage_outputs: dict[str, str]) -> dict[str, Any]:
    """The config keys that only exist after a deploy, from the storage stack's outputs."""
    return {"security": {"kms_key_id": storage_outputs["KmsKeyArn"]}}


def write_outputs(env: str, overlay: dict[str, Any], conf_dir: Path = CONF_DIR) -> Path | None:
    """Write conf/outputs/<env>.yaml; returns its path when its content changed, else None."""
    path = conf_dir / OUTPUTS_DIR / f"{env}.yaml"
    text = OUTPUTS_HEADER + yaml.safe_dump(overlay, sort_keys=True)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def deploy_environment(
    env: str,
    session: Any,
    confirm: Callable[[str, list[Change]], bool],
    execute: bool = True,
    only: Sequence[str] = (),
    role_arn: str | None = None,
    conf_dir: Path = CONF_DIR,
) -> list[StackResult]:
    """Each stack through a change set, in order. A preview reports a failing change set and goes on
    (a stack whose imports do not exist yet cannot be previewed); a deploy stops at the first failure."""
    cfg = load_config(env, conf_dir, for_aws=True)
    check_account(session, cfg)
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    code = build_zip()
    results: list[StackResult] = []
    for stack in STACKS:
        if only and stack not in only:
            continue
        if stack == "delivery" and not cfg.delivery.github_repository:
            LOG.info("delivery.github_repository unset in conf/%s.yaml: no delivery stack", env)
            continue
        key = handler_code_key(cfg, code)
        if stack == "operations" and execute and upload_once(s3, cfg.project.bucket, key, code):
            LOG.info("uploaded the handler bundle to s3://%s/%s", cfg.project.bucket, key)
        name = stack_name(cfg, stack)
        try:
            result = deploy_stack(
                cfn,
                name,
                template_path(stack).read_text(encoding="utf-8"),
                as_cloudformation(stack_parameters(cfg, stack, key)),
                stack_tags(cfg),
                confirm,
                role_arn=role_arn,
                execute=execute,
            )
        except ChangeSetFailed as error:
            if execute:
                raise
            LOG.warning("%s", error)
            results.append(StackResult(stack=name, change_set_type="FAILED"))
            continue
        results.append(result)
        if stack == "storage" and "KmsKeyArn" in result.outputs:
            written = write_outputs(env, outputs_overlay(result.outputs), conf_dir)
            if written:
                LOG.info("wrote %s: review and commit it", written)
                cfg = load_config(env, conf_dir, for_aws=True)
    return results


def write_environment_outputs(env: str, session: Any, conf_dir: Path = CONF_DIR) -> Path | None:
    """`make infra-outputs`: read the storage stack's outputs and write them into the config."""
    from infra.deploy import stack_outputs

    cfg = load_config(env, conf_dir, for_aws=True)
    cfn = session.client("cloudformation")
    name = stack_name(cfg, "storage")
    if stack_status(cfn, name) is None:
        raise ChangeSetFailed(f"stack {name} does not exist: run `make deploy-infra ENV={env}` first")
    return write_outputs(env, outputs_overlay(stack_outputs(cfn, name)), conf_dir)


def data_keys(s3: Any, bucket: str, prefix: str, limit: int = 5) -> list[str]:
    """Up to `limit` keys (any version) that are data: outside <prefix>/code/ and <prefix>/infra/."""
    rebuildable = tuple(f"{prefix.strip('/')}/{p}" for p in REBUILDABLE)
    found: list[str] = []
    if not bucket_holds_data(s3, bucket):
        return found
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            if not item["Key"].startswith(rebuildable) and item["Key"] not in found:
                found.append(item["Key"])
                if len(found) == limit:
                    return found
    return found


def destroy_environment(
    env: str,
    session: Any,
    confirm: Callable[[list[str]], bool],
    delete_data: bool = False,
    conf_dir: Path = CONF_DIR,
) -> list[str]:
    """Delete the stacks in reverse order; returns the deleted ones.

    Refuses before deleting anything when the bucket holds data (objects outside code/ and infra/),
    unless `delete_data`; the bucket is emptied only right before the storage stack goes.
    """
    cfg = load_config(env, conf_dir, for_aws=True)
    check_account(session, cfg)
    cfn, s3 = session.client("cloudformation"), session.client("s3")
    existing = [stack_name(cfg, s) for s in reversed(STACKS) if stack_status(cfn, stack_name(cfg, s))]
    storage = stack_name(cfg, "storage")
    if storage in existing and not delete_data:
        kept = data_keys(s3, cfg.project.bucket, cfg.project.prefix)
        if kept:
            raise BucketHoldsData(
                f"s3://{cfg.project.bucket} holds data (e.g. {', '.join(kept)}): nothing was deleted. "
                f"Copy what you need, then `make destroy-infra ENV={env} DELETE_DATA=1`"
            )
    if not existing or not confirm(existing):
        return []
    for name in existing:
        if name == storage:
            emptied = empty_bucket(s3, cfg.project.bucket)
            LOG.info("emptied s3://%s (%d object versions)", cfg.project.bucket, emptied)
        delete_stack(cfn, name)
        LOG.info("deleted %s", name)
    return existing
