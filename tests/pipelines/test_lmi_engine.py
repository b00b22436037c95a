"""`chatbot.serving.engine: lmi`: the registered chatbot runs AWS's LMI (vLLM) container on merged/.

The default (`handler`) leaves the definition as the golden file has it; `lmi` changes exactly the chatbot's
model package (image, environment, metadata), and the result still passes the request shapes and the
service rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from conf import load_config
from pipelines.service_rules import RuleContext, check_service_rules
from pipelines.validation import validate_definition
from tests.pipelines.conftest import steps_by_name

LMI = {"chatbot": {"serving": {"engine": "lmi"}}}


@pytest.fixture(scope="module")
def lmi_definition() -> dict[str, Any]:
    from pipelines.definition import definition_json

    return json.loads(definition_json(load_config("dev", overrides=LMI)))


def test_lmi_definition_is_valid_and_keeps_the_service_rules(lmi_definition: dict[str, Any]) -> None:
    assert validate_definition(lmi_definition) == []
    context = RuleContext(
        bucket="stranger-things-nlp-artifacts",
        prefix="stranger-things-nlp",
        pipeline_name="stranger-things-nlp-dev",
    )
    assert [str(v) for v in check_service_rules(lmi_definition, context)] == []


def test_chatbot_package_names_the_lmi_image_and_its_settings(lmi_definition: dict[str, Any]) -> None:
    register = steps_by_name(lmi_definition)["RegisterChatbot"]["Arguments"]
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["Image"] == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.36.0-lmi27.0.0-cu130"
    )
    environment = container["Environment"]
    assert environment["HF_MODEL_ID"] == "/opt/ml/model/merged"
    assert environment["OPTION_ROLLING_BATCH"] == "vllm"
    assert environment["OPTION_MAX_MODEL_LEN"] == str(1024 + 128)
    assert "SAGEMAKER_PROGRAM" not in environment  # no handler script: LMI's own vLLM handler serves
    assert register["CustomerMetadataProperties"]["serving_engine"] == "lmi"
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        "ml.g5.xlarge",
        "ml.g5.2xlarge",
    ]


def test_only_the_chatbot_package_differs_from_the_default(
    lmi_definition: dict[str, Any], definitions: dict[str, dict[str, Any]]
) -> None:
    default, lmi = steps_by_name(definitions["dev"]), steps_by_name(lmi_definition)
    assert sorted(default) == sorted(lmi)
    # Condition steps hold their branches' steps: compare the leaf steps.
    leaves = [name for name, step in default.items() if step["Type"] != "Condition"]
    differing = [name for name in leaves if default[name] != lmi[name]]
    assert differing == ["RegisterChatbot"]
    classifier = default["RegisterClassifier"]["Arguments"]["InferenceSpecification"]["Containers"][0]
    assert classifier["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    assert "serving_engine" not in default["RegisterChatbot"]["Arguments"]["CustomerMetadataProperties"]


def test_lmi_images_are_not_built_by_the_project() -> None:
    from pipelines.containers import required_images

    specs = required_images(load_config("dev", overrides=LMI))
    lmi = [spec for spec in specs if "djl-inference" in spec.uri]
    assert len(lmi) == 1 and not lmi[0].project_built
    default_inference = [s for s in required_images(load_config("dev")) if s.role == "inference"]
    assert all(spec.project_built for spec in default_inference)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "chatbot": {
                    "serving": {"engine": "lmi", "allowed_instance_types": ["ml.g5.xlarge", "ml.m5.xlarge"]}
                }
            },
            "needs GPU instances.*ml.m5.xlarge",
        ),
        ({"chatbot": {"serving": {"engine": "lmi"}, "hyperparameters": {"merge": False}}}, "merge true"),
        ({"classifier": {"serving": {"engine": "lmi"}}}, "classifier.serving.engine must be handler"),
        ({"chatbot": {"serving": {"engine": "tgi"}}}, "engine"),
    ],
)
def test_engine_settings_that_cannot_serve_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises((ValueError, ValidationError), match=message):
        load_config("dev", overrides=overrides)
