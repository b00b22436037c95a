"""Shared fixtures: each environment's definition is built once per test session (the SDK import is slow)."""

from __future__ import annotations

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
