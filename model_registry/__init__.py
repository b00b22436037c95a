"""Model registry: list, review, compare and deploy model versions, on SageMaker or locally.

Backends: `model_registry.sagemaker_backend.SageMakerRegistry` (boto3) and
`model_registry.local.LocalRegistry` (SQLite). The approval -> deploy decision lives in
`model_registry.deploy_logic`, used by the Lambda and by the local backend alike.
This package's import is deliberately empty: the Lambda bundle imports only stdlib-and-boto3 modules.
"""
