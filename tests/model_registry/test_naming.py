"""The registry's names agree with the pipeline's (the handler must update the pipeline's endpoints)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conf import load_config
from model_registry.naming import endpoint_name, pipeline_name


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_endpoint_and_pipeline_names_match_the_pipeline_code(env: str) -> None:
    from pipelines import (
        pipeline,
    )  # imports the SageMaker SDK (slow; shared with tests/steps, tests/pipelines)
    from steps import deploy

    cfg = load_config(env)
    for model in ("chatbot", "classifier"):
        assert endpoint_name(cfg.project.name, model, env) == deploy.endpoint_name(
            SimpleNamespace(cfg=cfg), model
        )
    assert pipeline_name(cfg.project.name, env) == pipeline.pipeline_name(cfg)


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model 'tagger'; known: chatbot, classifier"):
        endpoint_name("p", "tagger", "dev")
