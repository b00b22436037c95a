"""The account side as CloudFormation: templates/, the parameters generated from conf/, and the deploy CLI.

    python -m infra diff --env dev        # change sets only (make infra-diff)
    python -m infra deploy --env dev      # change set, confirm, execute, outputs (make deploy-infra)

Stacks, deployed in this order, each importing the exports of the ones before it:
storage (bucket, KMS key) -> execution (SageMaker role, ECR, model package groups) -> operations (approval
handler, rules, alarms, schedule) -> delivery (GitHub OIDC roles). Separate stacks with exports rather
than nested stacks: nested templates must sit in a bucket before the parent runs, and the bucket is what
the first stack creates; separate stacks also show one change set per concern and fail on their own.
Imports boto3, conf, project (ECR repository names) and model_registry (names, settings, the Lambda
bundle); never steps/, pipelines/ or the SageMaker SDK (tests/test_layers.py).
"""
