"""Names every part of the project agrees on: endpoints, the pipeline, rules, schedules, roles.

Stdlib only (the Lambda bundle imports it). One place, so the local runner, the pipeline's deploy steps,
the approval handler and the notebooks all point at the same endpoint.
"""

from __future__ import annotations

MODELS: tuple[str, ...] = ("chatbot", "classifier")


def endpoint_name(project_name: str, model: str, env: str) -> str:
    """The endpoint that serves `model` ('chatbot' or 'classifier') in `env`: `<project>-<model>-<env>`."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    return f"{project_name}-{model}-{env}"


def pipeline_name(project_name: str, env: str) -> str:
    """The SageMaker pipeline of `env`: `<project>-<env>`."""
    return f"{project_name}-{env}"
