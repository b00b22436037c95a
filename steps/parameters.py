"""Pipeline Parameters: the per-run knobs, with defaults taken from the environment's config.

Everything a person may want to change for one execution (from Studio or `make start-pipeline PARAMS=...`)
is here; everything else stays in YAML. Spot training is deliberately not a parameter: MaxWaitTime must
be absent when spot is off, which a parameter cannot express (sagemaker-python-sdk #4140). Nor is the
endpoints' instance type: both deploy triggers (the pipeline's DeployX step and an approval in the
registry) run the deploy handler, which serves on conf `<model>.serving.instance_type` (its settings,
set by `make deploy-infra`); a run-time value would be seen by one trigger and not the other, and the
serving image (CPU or GPU) is chosen from that type at build time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sagemaker.core.workflow.parameters import Parameter, ParameterFloat, ParameterInteger, ParameterString

from conf.schema import Config, TuningConfig
from containers.evaluation import report
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
    classifier_model_id: ParameterString
    classifier_training_instance_type: ParameterString
    classifier_training_instance_count: ParameterInteger
    classifier_epochs: ParameterFloat
    classifier_learning_rate: ParameterFloat
    # model -> {report figure: its minimum}, one Parameter per comparison of the quality gate
    gate_minimums: dict[str, dict[str, ParameterFloat]] = field(default_factory=dict)
    # Only when the model's tuning config names a warm-start parent (steps/tune.py says why).
    chatbot_warm_start: ParameterString | None = None
    classifier_warm_start: ParameterString | None = None

    def all(self) -> list[Parameter]:
        values = (getattr(self, f.name) for f in fields(self) if f.name != "gate_minimums")
        plain = [value for value in values if value is not None]
        return plain + [p for minimums in self.gate_minimums.values() for p in minimums.values()]

    def warm_start_of(self, model: str) -> ParameterString | None:
        """The <Model>WarmStartTuningJob parameter, when the model's tuning warm-starts."""
        value: ParameterString | None = getattr(self, f"{model}_warm_start")
        return value

    def for_model(self, model: str) -> ModelParameters:
        """The parameters of one model branch ('chatbot' or 'classifier')."""
        return ModelParameters(
            model_id=getattr(self, f"{model}_model_id"),
            training_instance_type=getattr(self, f"{model}_training_instance_type"),
            training_instance_count=getattr(self, f"{model}_training_instance_count"),
            epochs=getattr(self, f"{model}_epochs"),
            learning_rate=getattr(self, f"{model}_learning_rate"),
            gate_minimums=self.gate_minimums[model],
        )


@dataclass(frozen=True)
class ModelParameters:
    model_id: ParameterString
    training_instance_type: ParameterString
    training_instance_count: ParameterInteger
    epochs: ParameterFloat
    learning_rate: ParameterFloat
    gate_minimums: dict[str, ParameterFloat]


def gate_parameter_name(model: str, figure: str) -> str:
    """'chatbot', 'chrf_lift' -> 'ChatbotMinChrfLift': the Parameter holding one gate minimum."""
    return f"{model.capitalize()}Min{''.join(part.capitalize() for part in figure.split('_'))}"


def build_gate_parameters(cfg: Config) -> dict[str, dict[str, ParameterFloat]]:
    """One Float Parameter per gate comparison, in config order, default the configured minimum.

    Raises ValueError when a figure is not in the evaluation report's schema (report.check_gate).
    """
    for model in ("chatbot", "classifier"):
        report.check_gate(model, getattr(cfg, model).gate)
    return {
        model: {
            figure: ParameterFloat(gate_parameter_name(model, figure), default_value=float(minimum))
            for figure, minimum in getattr(cfg, model).gate.items()
        }
        for model in ("chatbot", "classifier")
    }


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
        gate_minimums=build_gate_parameters(cfg),
        chatbot_warm_start=_warm_start_parameter("Chatbot", chat.tuning),
        classifier_warm_start=_warm_start_parameter("Classifier", clf.tuning),
    )


def _warm_start_parameter(prefix: str, tuning: TuningConfig | None) -> ParameterString | None:
    """<Prefix>WarmStartTuningJob: the parent tuning job, when tuning is on and config names one."""
    if tuning is None or not tuning.enabled or not tuning.warm_start_from:
        return None
    return ParameterString(f"{prefix}WarmStartTuningJob", default_value=tuning.warm_start_from)
