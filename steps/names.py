"""Step names: PascalCase verb + object, defined once.

The local runner, the tests, the README diagram and the IAM policy all refer to steps by these names.
"""

from __future__ import annotations

FINGERPRINT_DATA = "FingerprintData"
CLEAN_SUBTITLES = "CleanSubtitles"
EXTRACT_ENTITIES = "ExtractEntities"
CLASSIFY_THEMES = "ClassifyThemes"
PREPARE_CHATBOT_DATA = "PrepareChatbotData"
PREPARE_LOCATION_DATA = "PrepareLocationData"

TRAIN_CHATBOT = "TrainChatbot"
TUNE_CHATBOT = "TuneChatbot"  # replaces TrainChatbot when chatbot.tuning.enabled
EVALUATE_CHATBOT = "EvaluateChatbot"
COMPUTE_CHATBOT_BASELINE = "ComputeChatbotBaseline"
CHATBOT_QUALITY_GATE = "ChatbotQualityGate"
REGISTER_CHATBOT = "RegisterChatbot"
FIND_CHATBOT_VERSION = "FindChatbotVersion"
CHATBOT_IS_NEW = "CheckChatbotIsNew"
DEPLOY_CHATBOT = "DeployChatbot"
CHATBOT_APPROVED_FOR_DEPLOY = "CheckChatbotApproval"

TRAIN_CLASSIFIER = "TrainLocationClassifier"
TUNE_CLASSIFIER = "TuneLocationClassifier"  # replaces TrainLocationClassifier when classifier.tuning.enabled
EVALUATE_CLASSIFIER = "EvaluateClassifier"
COMPUTE_CLASSIFIER_BASELINE = "ComputeClassifierBaseline"
CLASSIFIER_QUALITY_GATE = "ClassifierQualityGate"
REGISTER_CLASSIFIER = "RegisterClassifier"
FIND_CLASSIFIER_VERSION = "FindClassifierVersion"
CLASSIFIER_IS_NEW = "CheckClassifierIsNew"
DEPLOY_CLASSIFIER = "DeployClassifier"
CLASSIFIER_APPROVED_FOR_DEPLOY = "CheckClassifierApproval"
# Batch transform of the registered classifier over the cleaned subtitle lines (classifier.transform),
# one file per episode (PrepareSubtitleLines picks it).
PREPARE_SUBTITLE_LINES = "PrepareSubtitleLines"
CREATE_CLASSIFIER_BATCH_MODEL = "CreateClassifierBatchModel"
CLASSIFY_SUBTITLE_LINES = "ClassifySubtitleLines"

# Per model: the names of its branch, in DAG order (the builders and tests look them up by model key).
MODEL_STEPS: dict[str, dict[str, str]] = {
    "chatbot": {
        "prepare": PREPARE_CHATBOT_DATA,
        "train": TRAIN_CHATBOT,
        "tune": TUNE_CHATBOT,
        "evaluate": EVALUATE_CHATBOT,
        "baseline": COMPUTE_CHATBOT_BASELINE,
        "gate": CHATBOT_QUALITY_GATE,
        "register": REGISTER_CHATBOT,
        "approved": CHATBOT_APPROVED_FOR_DEPLOY,
        "find": FIND_CHATBOT_VERSION,
        "is_new": CHATBOT_IS_NEW,
        "deploy": DEPLOY_CHATBOT,
    },
    "classifier": {
        "prepare": PREPARE_LOCATION_DATA,
        "train": TRAIN_CLASSIFIER,
        "tune": TUNE_CLASSIFIER,
        "evaluate": EVALUATE_CLASSIFIER,
        "baseline": COMPUTE_CLASSIFIER_BASELINE,
        "gate": CLASSIFIER_QUALITY_GATE,
        "register": REGISTER_CLASSIFIER,
        "approved": CLASSIFIER_APPROVED_FOR_DEPLOY,
        "find": FIND_CLASSIFIER_VERSION,
        "is_new": CLASSIFIER_IS_NEW,
        "deploy": DEPLOY_CLASSIFIER,
    },
}

# The verdict steps: where a model's branch can start nothing more (its gate failed, its version waits
# for approval, or it was deployed), a Condition step reads the OTHER model's gate figures and fails the
# run when they miss a minimum. Why a verdict at every leaf and no Fail step on a gate's else branch: see
# steps/gate.py. Keys: model -> leaf ("failed", "registered", "deployed") -> (condition step, Fail step).
VERDICT_LEAVES = ("failed", "registered", "deployed", "known")  # known: already in the group


def _title(model: str) -> str:
    return {"chatbot": "Chatbot", "classifier": "Classifier"}[model]


def _other(model: str) -> str:
    return "classifier" if model == "chatbot" else "chatbot"


def verdict_names(model: str, leaf: str) -> tuple[str, str]:
    """(condition, fail) step names at one leaf of `model`'s branch, e.g. ('CheckClassifierGateAfter
    ChatbotDeploy', 'ClassifierBelowThresholdAfterChatbotDeploy'); after a failed gate the Fail names both."""
    this, other = _title(model), _title(_other(model))
    suffix = {"failed": "Failed", "registered": "Register", "deployed": "Deploy", "known": "Known"}[leaf]
    check = f"Check{other}GateAfter{this}{suffix}"
    fail = (
        f"{this}And{other}BelowThreshold" if leaf == "failed" else f"{other}BelowThresholdAfter{this}{suffix}"
    )
    return check, fail


VERDICT_STEPS: dict[str, dict[str, tuple[str, str]]] = {
    model: {leaf: verdict_names(model, leaf) for leaf in VERDICT_LEAVES} for model in MODEL_STEPS
}
