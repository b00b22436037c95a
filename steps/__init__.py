"""One small builder per pipeline step: `build_<x>_step(ctx, *upstream) -> Step`.

With `pipelines/`, the only package that imports the SageMaker SDK. Each builder assembles the exact
request of the SageMaker API its step calls (CreateProcessingJob, CreateTrainingJob, ...), so what the
definition holds is what the tests validate against botocore's service model.
"""
