"""validate-pipeline checks the deploy handler's requests too: shapes (botocore) and the serverless rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conf import load_config
from model_registry.settings import handler_settings
from pipelines.deploy_rules import deploy_request_violations

CLASSIFIER = "stranger-things-location-classifier"


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_the_handlers_requests_of_each_environment_pass(env: str) -> None:
    cfg = load_config(env)
    assert deploy_request_violations(handler_settings(cfg), cfg.project.region, cfg.project.account_id) == []


def settings_with(**serverless: int):  # type: ignore[no-untyped-def]
    """dev's settings with the classifier's serverless spec changed behind the config's back (as a stale
    or hand-edited handler settings JSON would carry it)."""
    settings = handler_settings(load_config("dev"))
    target = settings.targets[CLASSIFIER]
    spec = {**(target.serverless or {}), **serverless}
    return replace(settings, targets={**settings.targets, CLASSIFIER: replace(target, serverless=spec)})


def test_a_serverless_size_aws_refuses_is_reported() -> None:
    found = deploy_request_violations(settings_with(memory_size_mb=1500), "us-east-1", "123456789012")
    assert [(v.rule, v.step) for v in found] == [
        ("serverless-endpoint", "DeployHandler[stranger-things-nlp-dev-classifier]")
    ]
    assert "MemorySizeInMB 1500" in found[0].message


def test_a_shape_botocore_refuses_is_reported() -> None:
    found = deploy_request_violations(settings_with(max_concurrency=0), "us-east-1", "123456789012")
    rules = sorted(v.rule for v in found)
    assert rules == ["deploy-request-shape", "serverless-endpoint"]  # botocore's min 1, and the rule
    assert "MaxConcurrency" in next(v.message for v in found if v.rule == "deploy-request-shape")


def test_validate_fails_on_the_handlers_requests(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import model_registry.settings as settings_module
    from pipelines.__main__ import main

    broken = settings_with(memory_size_mb=1500)
    monkeypatch.setattr(settings_module, "handler_settings", lambda cfg: broken)
    assert main(["validate", "--env", "dev"]) == 1
    assert (
        "DeployHandler[stranger-things-nlp-dev-classifier]: [serverless-endpoint]" in capsys.readouterr().err
    )
