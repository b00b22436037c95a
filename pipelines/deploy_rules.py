"""The deploy handler's requests under the same checks as the definition: shapes, then service rules.

Since one deployer (issue 11) the definition builds no endpoints: the deploy handler sends CreateModel and
CreateEndpointConfig itself, from settings made of the config (model_registry/settings.py). So
`make validate-pipeline` also builds those requests for every endpoint of the environment (with a
stand-in model version: names and settings come from config, not from the version) and checks them:
botocore's own parameter validation, then the serverless rules of model_registry/serverless.py.

    from pipelines.deploy_rules import deploy_request_violations
    violations = deploy_request_violations(handler_settings(cfg), cfg.project.region, cfg.project.account_id)
"""

from __future__ import annotations

from typing import Any

from model_registry import serverless
from model_registry.deploy_logic import HandlerSettings
from model_registry.endpoint_spec import endpoint_config_request, model_request, resource_name
from model_registry.types import ModelVersion
from pipelines.service_rules import BOTOCORE_MODEL, Violation

SRC_SHAPES = f"{BOTOCORE_MODEL} (CreateModelInput, CreateEndpointConfigInput)"


def stand_in_version(group: str, region: str, account: str) -> ModelVersion:
    """A registered version as the handler would read it; only its ARN reaches the requests."""
    arn = f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/1"
    return ModelVersion(group, 1, arn, "Approved", f"s3://stand-in/{group}/model.tar.gz")


def deploy_request_violations(settings: HandlerSettings, region: str, account: str) -> list[Violation]:
    """Every problem of the requests the handler would send to serve each target of `settings`."""
    from botocore.exceptions import ParamValidationError
    from botocore.validate import validate_parameters

    model_shape = _shape("CreateModelInput")
    config_shape = _shape("CreateEndpointConfigInput")
    found = []
    for target in settings.targets.values():
        where = f"DeployHandler[{target.endpoint_name}]"
        version = stand_in_version(target.group, region, account)
        name = resource_name(target, version, settings)
        model = model_request(name, version, settings)
        config = endpoint_config_request(name, target, version, settings)
        for request, shape in ((model, model_shape), (config, config_shape)):
            try:
                validate_parameters(request, shape)
            except ParamValidationError as error:
                found.append(Violation("deploy-request-shape", where, str(error), SRC_SHAPES))
        for problem, source in serverless.endpoint_config_problems(config, model):
            found.append(Violation("serverless-endpoint", where, problem, source))
    return found


def _shape(name: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)
