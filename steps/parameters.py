"""Pipeline Parameters: the per-run knobs, with defaults taken from the environment's config.

Everything a person may want to change for one execution (from Studio or `make start-pipeline PARAMS=...`)
is here; everything else stays in YAML. Spot training is deliberately not a parameter: MaxWaitTime must
be absent when spot is off, which a parameter cannot express (sagemaker-python-sdk #4140).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sagemaker.core.workflow.parameters import Parameter, ParameterFloat, ParameterInteger, ParameterString

from conf.schema import Config
from model_registry.types import APPROVAL_STATUSES


@dataclass(frozen=True)
class PipelineParameters:
    """The pipeline's Parameters, one attribute each; `all()` lists them in definition order."""

    input_data_uri: ParameterString
    processing_instance_type: ParameterString
    processing_instance_count: ParameterInteger
    model_approval_status: ParameterString
    chatbot_model_id: ParameterString
    chatbot_training_instance_type: ParameterString
    chatbot_training_instance_count: ParameterInteger
    chatbot_epochs: ParameterFloat
    chatbot_learning_rate: ParameterFloat
    chatbot_max_steps: ParameterInteger
    chatbot_evaluation_instance_type: ParameterString
    chatbot_threshold: ParameterFloat
    chatbot_endpoint_instance_type: ParameterString
    classifier_model_id: ParameterString
    classifier_training_instance_type: ParameterString
    classifier_training_instance_count: ParameterInteger
    classifier_epochs: ParameterFloat
    classifier_learning_rate: ParameterFloat
    classifier_threshold: ParameterFloat
    classifier_endpoint_instance_type: ParameterString

    def all(self) -> list[Parameter]:
        return [getattr(self, field.name) for field in fields(self)]

    def for_model(self, model: str) -> ModelParameters:
        """The parameters of one model branch ('chatbot' or 'classifier')."""
        return ModelParameters(
            model_id=getattr(self, f"{model}_model_id"),
            training_instance_type=getattr(self, f"{model}_training_instance_type"),
            training_instance_count=getattr(self, f"{model}_training_instance_count"),
            epochs=getattr(self, f"{model}_epochs"),
            learning_rate=getattr(self, f"{model}_learning_rate"),
            threshold=getattr(self, f"{model}_threshold"),
            endpoint_instance_type=getattr(self, f"{model}_endpoint_instance_type"),
        )


@dataclass(frozen=True)
class ModelParameters:
    model_id: ParameterString
    training_instance_type: ParameterString
    training_instance_count: ParameterInteger
    epochs: ParameterFloat
    learning_rate: ParameterFloat
    threshold: ParameterFloat
    endpoint_instance_type: ParameterString


def build_parameters(cfg: Config) -> PipelineParameters:
    """Parameters with defaults from `cfg`; names are PascalCase as Studio shows them."""
    chat, clf = cfg.chatbot, cfg.classifier
    return PipelineParameters(
        input_data_uri=ParameterString("InputDataUri", default_value=cfg.data.input_uri),
        processing_instance_type=ParameterString(
            "ProcessingInstanceType", default_value=cfg.processing.instance_type
        ),
        processing_instance_count=ParameterInteger(
            "ProcessingInstanceCount", default_value=cfg.processing.instance_count
        ),
        model_approval_status=ParameterString(
            "ModelApprovalStatus",
            default_value=cfg.registry.approval_status,
            enum_values=list(APPROVAL_STATUSES),
        ),
        chatbot_model_id=ParameterString("ChatbotModelId", default_value=chat.model_id),
        chatbot_training_instance_type=ParameterString(
            "ChatbotTrainingInstanceType", default_value=chat.training.instance_type
        ),
        chatbot_training_instance_count=ParameterInteger(
            "ChatbotTrainingInstanceCount", default_value=chat.training.instance_count
        ),
        chatbot_epochs=ParameterFloat("ChatbotEpochs", default_value=float(chat.hyperparameters.epochs)),
        chatbot_learning_rate=ParameterFloat(
            "ChatbotLearningRate", default_value=chat.hyperparameters.learning_rate
        ),
        chatbot_max_steps=ParameterInteger("ChatbotMaxSteps", default_value=chat.hyperparameters.max_steps),
        chatbot_evaluation_instance_type=ParameterString(
            "ChatbotEvaluationInstanceType", default_value=chat.serving.instance_type
        ),
        chatbot_threshold=ParameterFloat("ChatbotGateThreshold", default_value=chat.gate.threshold),
        chatbot_endpoint_instance_type=ParameterString(
            "ChatbotEndpointInstanceType", default_value=chat.serving.instance_type
        ),
        classifier_model_id=ParameterString("ClassifierModelId", default_value=clf.model_id),
        classifier_training_instance_type=ParameterString(
            "ClassifierTrainingInstanceType", default_value=clf.training.instance_type
        ),
        classifier_training_instance_count=ParameterInteger(
            "ClassifierTrainingInstanceCount", default_value=clf.training.instance_count
        ),
        classifier_epochs=ParameterFloat("ClassifierEpochs", default_value=float(clf.hyperparameters.epochs)),
        classifier_learning_rate=ParameterFloat(
            "ClassifierLearningRate", default_value=clf.hyperparameters.learning_rate
        ),
        classifier_threshold=ParameterFloat("ClassifierGateThreshold", default_value=clf.gate.threshold),
        classifier_endpoint_instance_type=ParameterString(
            "ClassifierEndpointInstanceType", default_value=clf.serving.instance_type
        ),
    )
