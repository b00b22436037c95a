"""Shared fixtures: each environment's definition is built once per test session (the SDK import is slow)."""

from __future__ import annotations

import contextlib
import json
from functools import cache
from typing import Any

import pytest

from conf import load_config


@cache
def definition_text(env: str) -> str:
    from pipelines.definition import definition_json

    return definition_json(load_config(env))


@pytest.fixture(scope="session")
def definitions() -> dict[str, dict[str, Any]]:
    return {env: json.loads(definition_text(env)) for env in ("dev", "prod", "local")}


def steps_by_name(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from pipelines.validation import flatten_steps

    return {step["Name"]: step for step in flatten_steps(definition["Steps"])}


def push_images(session: Any, uris: list[str]) -> None:
    """Push `uris` into (mocked) ECR as `make build-containers` would: each repository, each tag."""
    from project.images import image_id

    ecr = session.client("ecr")
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    )
    for uri in uris:
        repository, identifier = image_id(uri)
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=repository)
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=identifier["imageTag"])
