"""Lambda steps, locally: the pipeline's FindXVersion / DeployX requests served by the deploy handler's
own code (`model_registry.deploy_requests.handle_request`) against the local registry and endpoints.

On AWS the function's settings come from the operations stack, built from the environment's config;
here they come from that same config: the function name is `<project>-<env>-deploy-handler`
(`naming.handler_function_name`), so the step's FunctionArn names the environment whose config to load.
Only the deploy handler is known: another function is refused, naming it.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

from conf import load_config
from model_registry.deploy_logic import HandlerSettings
from model_registry.deploy_requests import REQUEST_KEY, handle_request
from model_registry.local_deploy import LocalDeployer
from model_registry.naming import handler_function_name
from model_registry.settings import handler_settings
from pipelines.local.handlers import Outcome, StepCall
from pipelines.local.state import SUCCEEDED
from pipelines.local.storage import StorageError

HANDLER_SUFFIX = handler_function_name("x", "y").removeprefix("x-y")  # "-deploy-handler"


class UnknownFunction(StorageError):
    """A Lambda step invokes a function the local runner does not carry (only the deploy handler)."""


def settings_for(function_arn: str) -> HandlerSettings:
    """The deploy handler's settings for the environment its function name carries."""
    name = function_arn.rsplit(":", 1)[-1]
    if not name.endswith(HANDLER_SUFFIX):
        raise UnknownFunction(
            f"Lambda function {name!r} is not the deploy handler (<project>-<env>{HANDLER_SUFFIX}): "
            "the local runner runs that function only"
        )
    project, _, env = name.removesuffix(HANDLER_SUFFIX).rpartition("-")
    cfg = load_config(env)
    if cfg.project.name != project:
        raise UnknownFunction(
            f"{name!r} names project {project!r}, but conf/{env}.yaml is {cfg.project.name!r}"
        )
    return handler_settings(cfg)


def run_lambda(call: StepCall) -> Outcome:
    svc = call.services
    settings = settings_for(str(call.definition.get("FunctionArn", "")))
    deployer = LocalDeployer(svc.registry, deploy_root=svc.models_dir, base_dir=svc.repo_root)

    def same(stored: str, asked: str) -> bool:
        # The registry stores the path a version's files had in the run that registered it; each run
        # has its own S3 folder, so the same object handed on by a cached step is compared by content.
        here, there = Path(stored), svc.storage.local_path(asked)
        return (
            here.is_file() and there.is_file() and (here == there or filecmp.cmp(here, there, shallow=False))
        )

    outputs = handle_request(call.args, settings, svc.registry, deployer, same)
    group = call.args["group"]
    if call.args.get(REQUEST_KEY) != "find":
        message = f"{outputs['endpoint_name']}: {outputs['action']} ({outputs['reason']})"
    elif outputs["found"] == "true":
        message = (
            f"{group} holds it as version {outputs['version']} ({outputs['status']}): not registered again"
        )
    else:
        message = f"{group}: a new version"
    return Outcome(SUCCEEDED, properties={"OutputParameters": outputs}, message=message)
