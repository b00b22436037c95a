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
EVALUATE_CHATBOT = "EvaluateChatbot"
CHATBOT_QUALITY_GATE = "ChatbotQualityGate"
REGISTER_CHATBOT = "RegisterChatbot"
CREATE_CHATBOT_MODEL = "CreateChatbotModel"
CHATBOT_ENDPOINT_CONFIG = "ChatbotEndpointConfig"
DEPLOY_CHATBOT = "DeployChatbot"
CHATBOT_APPROVED_FOR_DEPLOY = "CheckChatbotApproval"
CHATBOT_BELOW_THRESHOLD = "ChatbotBelowThreshold"

TRAIN_CLASSIFIER = "TrainLocationClassifier"
EVALUATE_CLASSIFIER = "EvaluateClassifier"
CLASSIFIER_QUALITY_GATE = "ClassifierQualityGate"
REGISTER_CLASSIFIER = "RegisterClassifier"
CREATE_CLASSIFIER_MODEL = "CreateClassifierModel"
CLASSIFIER_ENDPOINT_CONFIG = "ClassifierEndpointConfig"
DEPLOY_CLASSIFIER = "DeployClassifier"
CLASSIFIER_APPROVED_FOR_DEPLOY = "CheckClassifierApproval"
CLASSIFIER_BELOW_THRESHOLD = "ClassifierBelowThreshold"

# Per model: the names of its branch, in DAG order (the builders and tests look them up by model key).
MODEL_STEPS: dict[str, dict[str, str]] = {
    "chatbot": {
        "prepare": PREPARE_CHATBOT_DATA,
        "train": TRAIN_CHATBOT,
        "evaluate": EVALUATE_CHATBOT,
        "gate": CHATBOT_QUALITY_GATE,
        "register": REGISTER_CHATBOT,
        "approved": CHATBOT_APPROVED_FOR_DEPLOY,
        "model": CREATE_CHATBOT_MODEL,
        "endpoint_config": CHATBOT_ENDPOINT_CONFIG,
        "deploy": DEPLOY_CHATBOT,
        "fail": CHATBOT_BELOW_THRESHOLD,
    },
    "classifier": {
        "prepare": PREPARE_LOCATION_DATA,
        "train": TRAIN_CLASSIFIER,
        "evaluate": EVALUATE_CLASSIFIER,
        "gate": CLASSIFIER_QUALITY_GATE,
        "register": REGISTER_CLASSIFIER,
        "approved": CLASSIFIER_APPROVED_FOR_DEPLOY,
        "model": CREATE_CLASSIFIER_MODEL,
        "endpoint_config": CLASSIFIER_ENDPOINT_CONFIG,
        "deploy": DEPLOY_CLASSIFIER,
        "fail": CLASSIFIER_BELOW_THRESHOLD,
    },
}
