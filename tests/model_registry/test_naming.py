"""The names the pipeline, the deploy handler, the schedule and the notebooks share (one module)."""

from __future__ import annotations

import pytest

from model_registry.naming import alarm_names, endpoint_name, pipeline_name


def test_endpoint_is_project_env_model() -> None:
    assert endpoint_name("stranger-things-nlp", "chatbot", "dev") == "stranger-things-nlp-dev-chatbot"
    assert endpoint_name("p", "classifier", "prod") == "p-prod-classifier"


def test_pipeline_is_project_env() -> None:
    assert pipeline_name("stranger-things-nlp", "local") == "stranger-things-nlp-local"


def test_alarms_are_named_after_their_endpoint() -> None:
    assert alarm_names("p-dev-chatbot") == {
        "5xx": "p-dev-chatbot-5xx-errors",
        "latency": "p-dev-chatbot-model-latency",
    }


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model 'tagger'; known: chatbot, classifier"):
        endpoint_name("p", "tagger", "dev")
